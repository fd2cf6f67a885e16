import { createApiKeyService } from "./admin/api-key.service";
import { createApiKeyStore } from "./admin/api-key.store";
import { createAuditService } from "./audit/audit.service";
import { createAuditStore } from "./audit/audit.store";
import type { Config, SecretKey } from "./config/load";
import type { LocalLoginDeps } from "./local-login/deps";
import { createLoginEntryService } from "./local-login/login-entry.service";
import { createPendingLoginStore } from "./local-login/pending-login.store";
import { createMfaAdminService } from "./mfa/mfa-admin.service";
import { createRecoveryCodeHasher } from "./mfa/recovery-code-hasher";
import { createRecoveryCodeNotices } from "./mfa/recovery-code-notice";
import { createRecoveryCodeStore } from "./mfa/recovery-code.store";
import { createTotpVerifier } from "./mfa/totp";
import { createPasswordHasher } from "./passwords/password-hasher";
import type { Clock } from "./platform/clock";
import { SecretBox } from "./platform/crypto";
import type { Db } from "./platform/db/prisma";
import type { KvStore } from "./platform/kv/kv-store";
import type { Logger } from "./platform/logger";
import type { Mailer } from "./platform/mail/mailer";
import { createAuthThrottle, type ThrottleBackend } from "./platform/throttle/throttle";
import { createAccountService } from "./sessions/account.service";
import { createSessionAdminService } from "./sessions/session-admin.service";
import { createSessionService } from "./sessions/session.service";
import { createSessionStore } from "./sessions/session.store";
import { createAllowlistImpact } from "./tenants/allowlist-impact";
import { createTenantService } from "./tenants/tenant.service";
import { createTenantStore } from "./tenants/tenant.store";
import { createUserService } from "./users/user.service";
import { createUserStore } from "./users/user.store";

export type Infrastructure = {
  config: Config & { secretKeys: readonly SecretKey[] };
  logger: Logger;
  clock: Clock;
  db: Db;
  kv: KvStore;
  mailer: Mailer;
  throttleBackend: ThrottleBackend;
};

/** The one wiring point: stores, then services that take them as deps. */
export function createContainer(infra: Infrastructure) {
  const { db, clock, logger, kv, config, mailer } = infra;
  const auditStore = createAuditStore();
  const tenantStore = createTenantStore();
  const userStore = createUserStore();
  const apiKeyStore = createApiKeyStore();
  const recoveryCodeStore = createRecoveryCodeStore();
  const recoveryNotices = createRecoveryCodeNotices({ kv });
  const sessions = createSessionService({ store: createSessionStore({ kv, clock }), clock });
  const hasher = createPasswordHasher({ cost: config.bcryptCost, pepperKeys: config.secretKeys });

  const localLogin: LocalLoginDeps = {
    db, clock, logger, mailer, auditStore, tenantStore, userStore, recoveryCodeStore, recoveryNotices, sessions, hasher,
    regionUrls: config.regionUrls,
    publicUrl: config.publicUrl,
    throttle: createAuthThrottle({ backend: infra.throttleBackend }),
    pending: createPendingLoginStore({ kv }),
    totp: createTotpVerifier({ kv, clock }),
    secretBox: new SecretBox(config.secretKeys),
    recoveryHasher: createRecoveryCodeHasher(config.secretKeys),
  };

  return {
    infra,
    sessions,
    recoveryNotices,
    localLogin,
    audit: createAuditService({ db, auditStore }),
    tenants: createTenantService({ db, tenantStore, auditStore }),
    users: createUserService({ db, clock, userStore, auditStore, hasher, revokeUserSessions: (userId) => sessions.revokeUserSessions(userId) }),
    apiKeys: createApiKeyService({ db, clock, logger, apiKeyStore, tenantStore, auditStore }),
    account: createAccountService({ db, sessions, userStore, tenantStore, auditStore }),
    loginEntry: createLoginEntryService({ db, tenantStore, regions: config.regions, regionUrls: config.regionUrls }),
    mfaAdmin: createMfaAdminService({ db, userStore, recoveryCodeStore, auditStore, sessions, mailer, logger, clock }),
    sessionAdmin: createSessionAdminService({ db, auditStore, sessions }),
    allowlistImpact: createAllowlistImpact({ db, clock, userStore, auditStore, sessions }),
  };
}

export type Container = ReturnType<typeof createContainer>;
