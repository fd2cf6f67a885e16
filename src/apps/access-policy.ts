import type { Session } from "../sessions/session";
import { isIpAllowed } from "../tenants/ip-allowlist";
import type { AccountRow } from "./account.store";

export type AccessRefusal = "password_change_required" | "tenant_not_allowed" | "ip_not_allowed" | "account_inactive";

export type AccessVerdict = { allowed: true } | { allowed: false; reason: AccessRefusal; message: string };

const MESSAGES: Record<AccessRefusal, string> = {
  password_change_required: "the user must change their password before signing in to applications",
  tenant_not_allowed: "this application is not available to the user's organisation",
  ip_not_allowed: "the user's organisation does not allow sign-in from this network",
  account_inactive: "the account is not active",
};

/**
 * Whether a Gatehouse session may sign in to an app: the one rule, applied before any code is issued (at the
 * interaction and again at every authorization request).
 * `appTenantIds` empty means the app serves every tenant.
 */
export function decideAccess(input: { session: Session; account: AccountRow | null; appTenantIds: readonly string[]; ip: string }): AccessVerdict {
  const { session, account } = input;
  const refuse = (reason: AccessRefusal): AccessVerdict => ({ allowed: false, reason, message: MESSAGES[reason] });
  if (!account || account.status !== "active" || account.tenant.id !== session.tenantId) return refuse("account_inactive");
  if (session.restriction === "password_change") return refuse("password_change_required");
  if (input.appTenantIds.length > 0 && !input.appTenantIds.includes(session.tenantId)) return refuse("tenant_not_allowed");
  if (!isIpAllowed(account.tenant.ipAllowlist, input.ip)) return refuse("ip_not_allowed");
  return { allowed: true };
}
