import type { AuditStore } from "../audit/audit.store";
import type { Clock } from "../platform/clock";
import type { Db } from "../platform/db/prisma";
import type { Logger } from "../platform/logger";
import type { OutboxStore } from "../platform/mail/outbox.store";
import type { AuthThrottle } from "../platform/throttle/throttle";
import type { SessionService } from "../sessions/session.service";
import type { TenantStore } from "../tenants/tenant.store";
import type { UserStore } from "../users/user.store";
import type { PasswordHasher } from "./password-hasher";
import type { createPasswordPolicy } from "./password-policy";
import type { PasswordTokenStore } from "./password-token.store";

export type PasswordPolicy = ReturnType<typeof createPasswordPolicy>;

/** What the password lifecycle (forgot, reset, change, invitations, rotation) needs. */
export type PasswordDeps = {
  db: Db;
  clock: Clock;
  logger: Logger;
  regionUrls: Readonly<Record<string, string>>;
  tenantStore: TenantStore;
  userStore: UserStore;
  tokenStore: PasswordTokenStore;
  outbox: OutboxStore;
  auditStore: AuditStore;
  hasher: PasswordHasher;
  policy: PasswordPolicy;
  sessions: SessionService;
  throttle: AuthThrottle;
};

export const RESET_TOKEN_TTL_MS = 30 * 60 * 1000;
export const INVITE_TOKEN_TTL_MS = 72 * 60 * 60 * 1000;

/** Links always use the configured URL of the tenant's region, never the request's Host header. */
export function passwordLink(deps: Pick<PasswordDeps, "regionUrls">, region: string, page: "reset" | "forgot", token?: string): string {
  const base = `${deps.regionUrls[region]}/${region}/password/${page}`;
  return token ? `${base}?token=${encodeURIComponent(token)}` : base;
}
