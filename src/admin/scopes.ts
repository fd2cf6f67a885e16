/** Scopes an API key can hold. A write scope implies the read scope of the same resource. */
export const API_SCOPES = [
  "tenants:read", "tenants:write", "users:read", "users:write", "rotations:write", "audit:read", "api_keys:write",
  "applications:read", "applications:write",
] as const;

export type ApiScope = (typeof API_SCOPES)[number];

export function hasScope(granted: readonly string[], needed: ApiScope): boolean {
  if (granted.includes(needed)) return true;
  const [resource, action] = needed.split(":");
  return action === "read" && granted.includes(`${resource}:write`);
}
