import type { AuditContext } from "../audit/audit-event";
import type { AuditStore } from "../audit/audit.store";
import type { Clock } from "../platform/clock";
import { randomToken, sha256Hex } from "../platform/crypto";
import type { Db } from "../platform/db/prisma";
import { isUniqueViolation } from "../platform/db/errors";
import { AppError, notFound } from "../platform/errors";
import type { Logger } from "../platform/logger";
import { decodeCursor, toPage, UUID_PATTERN, type Page } from "../platform/pagination";
import type { TenantStore } from "../tenants/tenant.store";
import type { ApiKeyRow, ApiKeyStore } from "./api-key.store";
import { API_SCOPES, hasScope, type ApiScope } from "./scopes";

/** The authenticated caller of the admin API. */
export type ApiCaller = { keyId: string; scopes: readonly string[]; tenantId?: string };

type Deps = { db: Db; clock: Clock; logger: Logger; apiKeyStore: ApiKeyStore; tenantStore: TenantStore; auditStore: AuditStore };

const KEY_PREFIX = "gh_";

export type ApiKeyView = ReturnType<typeof toApiKeyView>;

export function toApiKeyView(row: ApiKeyRow) {
  return {
    id: row.id,
    name: row.name,
    prefix: row.keyPrefix,
    scopes: row.scopes,
    tenant: row.tenant?.slug ?? null,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}

export function createApiKeyService(deps: Deps) {
  const { db, clock, apiKeyStore, tenantStore, auditStore } = deps;

  async function requireVisibleKey(id: string, caller: ApiCaller): Promise<ApiKeyRow> {
    const row = UUID_PATTERN.test(id) ? await apiKeyStore.findById(db, id) : null;
    if (!row || (caller.tenantId && row.tenantId !== caller.tenantId)) throw notFound("API key");
    return row;
  }

  return {
    /** Only the SHA-256 of a key is stored; a lookup by hash reveals nothing about other keys. */
    async authenticate(presented: string): Promise<ApiCaller> {
      const row = presented.length <= 200 ? await apiKeyStore.findActiveByHash(db, sha256Hex(presented)) : null;
      if (!row) throw new AppError("invalid_api_key", "The API key is missing, unknown or revoked", { headers: { "WWW-Authenticate": 'Bearer realm="gatehouse"' } });
      const now = clock.now();
      // Last-used time has minute resolution: most requests need no write at all.
      if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > 60_000) await apiKeyStore.touch(db, row.id, now);
      return { keyId: row.id, scopes: row.scopes, tenantId: row.tenantId ?? undefined };
    },

    async createKey(input: { name: string; scopes: string[]; tenant?: string }, caller: ApiCaller, context: AuditContext) {
      const excess = input.scopes.filter((scope) => !hasScope(caller.scopes, scope as ApiScope));
      if (excess.length > 0) throw new AppError("insufficient_scope", `A key cannot grant scopes it does not hold: ${excess.join(", ")}`);
      const tenant = input.tenant ? await tenantStore.findBySlug(db, input.tenant) : null;
      if (input.tenant && (!tenant || (caller.tenantId && caller.tenantId !== tenant.id))) throw notFound("Tenant");
      if (caller.tenantId && !tenant) throw new AppError("forbidden", "A key bound to a tenant can only create keys bound to that tenant");
      const key = `${KEY_PREFIX}${randomToken(32)}`;
      const row = await db.$transaction(async (tx) => {
        const created = await apiKeyStore.create(tx, {
          name: input.name, keyHash: sha256Hex(key), keyPrefix: key.slice(0, 10), scopes: [...new Set(input.scopes)], tenantId: tenant?.id ?? null, createdBy: caller.keyId,
        });
        await auditStore.insert(tx, context, { type: "api_key.created", tenantId: created.tenantId, target: { type: "api_key", id: created.id }, data: { after: toApiKeyView(created) } });
        return created;
      });
      return { ...toApiKeyView(row), key };
    },

    async revokeKey(id: string, caller: ApiCaller, context: AuditContext): Promise<ApiKeyView> {
      const row = await requireVisibleKey(id, caller);
      if (row.revokedAt) return toApiKeyView(row);
      const revoked = await db.$transaction(async (tx) => {
        const updated = await apiKeyStore.revoke(tx, row.id, clock.now());
        await auditStore.insert(tx, context, { type: "api_key.revoked", tenantId: row.tenantId, target: { type: "api_key", id: row.id } });
        return updated;
      });
      return toApiKeyView(revoked);
    },

    async getKey(id: string, caller: ApiCaller): Promise<ApiKeyView> {
      return toApiKeyView(await requireVisibleKey(id, caller));
    },

    async listKeys(query: { cursor?: string; limit: number }, caller: ApiCaller): Promise<Page<ApiKeyView>> {
      const rows = await apiKeyStore.list(db, { afterId: decodeCursor(query.cursor, UUID_PATTERN), limit: query.limit + 1, tenantId: caller.tenantId });
      return toPage(rows, query.limit, toApiKeyView, (row) => row.id);
    },

    /** BOOTSTRAP_ADMIN_TOKEN becomes a full-scope key at start-up; a revoked one stays revoked. */
    async ensureBootstrapKey(token: string): Promise<void> {
      const keyHash = sha256Hex(token);
      const existing = await apiKeyStore.findByHash(db, keyHash);
      if (existing?.revokedAt) {
        deps.logger.warn({ keyId: existing.id }, "BOOTSTRAP_ADMIN_TOKEN names a revoked key; it stays revoked");
        return;
      }
      if (existing) return;
      try {
        await db.$transaction(async (tx) => {
          const created = await apiKeyStore.create(tx, { name: "bootstrap", keyHash, keyPrefix: "bootstrap", scopes: [...API_SCOPES], tenantId: null, createdBy: null });
          await auditStore.insert(tx, { actor: { type: "system", id: "bootstrap" } }, { type: "api_key.created", target: { type: "api_key", id: created.id }, data: { after: toApiKeyView(created) } });
        });
      } catch (error) {
        // Another instance starting at the same moment created it first.
        if (!isUniqueViolation(error)) throw error;
      }
    },
  };
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>;
