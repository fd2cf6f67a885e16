type TenantPolicy = { ssoEnabled: boolean; ssoEnforced: boolean };
type UserPolicy = { kind: "member" | "contractor" | "client"; ssoBypass: boolean };

/**
 * Who may use the regional (bypass) login. Contractors and clients always may; members may unless
 * the tenant enforces SSO and they are not on the bypass list. A member signing in here while the
 * tenant offers SSO is a bypass login: allowed, but audited and reported to the tenant's admins.
 */
export function mayUseLocalLogin(tenant: TenantPolicy, user: UserPolicy): { allowed: boolean; bypass: boolean } {
  if (user.kind !== "member") return { allowed: true, bypass: false };
  if (tenant.ssoEnforced && !user.ssoBypass) return { allowed: false, bypass: false };
  return { allowed: true, bypass: tenant.ssoEnabled };
}
