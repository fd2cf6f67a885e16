import type { AuditStore } from "../audit/audit.store";
import type { RecoveryCodeHasher } from "../mfa/recovery-code-hasher";
import type { RecoveryCodeNotices } from "../mfa/recovery-code-notice";
import type { RecoveryCodeStore } from "../mfa/recovery-code.store";
import type { TotpVerifier } from "../mfa/totp";
import type { Clock } from "../platform/clock";
import type { SecretBox } from "../platform/crypto";
import type { Db } from "../platform/db/prisma";
import type { KvStore } from "../platform/kv/kv-store";
import type { Logger } from "../platform/logger";
import type { OutboxStore } from "../platform/mail/outbox.store";
import type { AuthThrottle } from "../platform/throttle/throttle";
import type { PasswordHasher } from "../passwords/password-hasher";
import type { SessionService } from "../sessions/session.service";
import type { TenantStore } from "../tenants/tenant.store";
import type { UserStore } from "../users/user.store";
import type { PendingLoginStore } from "./pending-login.store";

/** Everything the regional login flow needs; wired once in container.ts. */
export type LocalLoginDeps = {
  db: Db;
  kv: KvStore;
  clock: Clock;
  logger: Logger;
  regionUrls: Readonly<Record<string, string>>;
  publicUrl: string;
  tenantStore: TenantStore;
  userStore: UserStore;
  recoveryCodeStore: RecoveryCodeStore;
  recoveryNotices: RecoveryCodeNotices;
  auditStore: AuditStore;
  hasher: PasswordHasher;
  throttle: AuthThrottle;
  pending: PendingLoginStore;
  totp: TotpVerifier;
  secretBox: SecretBox;
  recoveryHasher: RecoveryCodeHasher;
  sessions: SessionService;
  outbox: OutboxStore;
  /** Whether the app this login returns to asked for a second factor (OpenID Connect `acr_values=aal2`). */
  secondFactorRequiredFor(returnTo: string): Promise<boolean>;
};

/** Who is asking, as far as the login flow cares. */
export type LoginClient = { ip: string; userAgent?: string; browserId: string; requestId?: string };
