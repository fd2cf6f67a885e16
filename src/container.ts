import { createApiKeyService } from "./admin/api-key.service";
import { createApiKeyStore } from "./admin/api-key.store";
import { createAuditService } from "./audit/audit.service";
import { createAuditStore } from "./audit/audit.store";
import type { Config, SecretKey } from "./config/load";
import type { Clock } from "./platform/clock";
import type { Db } from "./platform/db/prisma";
import type { KvStore } from "./platform/kv/kv-store";
import type { Logger } from "./platform/logger";
import type { Mailer } from "./platform/mail/mailer";
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
};

/** The one wiring point: stores, then services that take them as deps. */
export function createContainer(infra: Infrastructure) {
  const { db, clock, logger } = infra;
  const auditStore = createAuditStore();
  const tenantStore = createTenantStore();
  const userStore = createUserStore();
  const apiKeyStore = createApiKeyStore();

  return {
    infra,
    audit: createAuditService({ db, auditStore }),
    tenants: createTenantService({ db, tenantStore, auditStore }),
    users: createUserService({ db, clock, userStore, auditStore }),
    apiKeys: createApiKeyService({ db, clock, logger, apiKeyStore, tenantStore, auditStore }),
  };
}

export type Container = ReturnType<typeof createContainer>;
