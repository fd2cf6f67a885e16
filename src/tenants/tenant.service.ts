import type { AuditContext } from "../audit/audit-event";
import type { AuditStore } from "../audit/audit.store";
import type { Db } from "../platform/db/prisma";
import { isUniqueViolation } from "../platform/db/errors";
import { AppError, notFound } from "../platform/errors";
import { decodeCursor, toPage, UUID_PATTERN, type Page } from "../platform/pagination";
import type { TenantCreateInput, TenantUpdateInput } from "./tenant.schemas";
import type { TenantRow, TenantStore } from "./tenant.store";
import { changedFields } from "../audit/diff";
import { toTenantView, type TenantView } from "./tenant.view";

/** Who may see what: a caller bound to one tenant sees only that one, and others do not exist for it. */
export type TenantScope = { tenantId?: string };

type Deps = { db: Db; tenantStore: TenantStore; auditStore: AuditStore };

export function createTenantService(deps: Deps) {
  const { db, tenantStore, auditStore } = deps;

  async function requireTenant(slug: string, scope: TenantScope): Promise<TenantRow> {
    const tenant = await tenantStore.findBySlug(db, slug);
    if (!tenant || (scope.tenantId && scope.tenantId !== tenant.id)) throw notFound("Tenant");
    return tenant;
  }

  return {
    requireTenant,

    async getTenant(slug: string, scope: TenantScope): Promise<TenantView> {
      return toTenantView(await requireTenant(slug, scope));
    },

    async createTenant(input: TenantCreateInput, context: AuditContext): Promise<TenantView> {
      try {
        const tenant = await db.$transaction(async (tx) => {
          const created = await tenantStore.create(tx, input);
          const after = toTenantView(created);
          await auditStore.insert(tx, context, { type: "tenant.created", tenantId: created.id, target: { type: "tenant", id: created.id }, data: { after } });
          return created;
        });
        return toTenantView(tenant);
      } catch (error) {
        if (isUniqueViolation(error)) throw new AppError("tenant_slug_taken", `The slug "${input.slug}" is already in use`);
        throw error;
      }
    },

    async updateTenant(slug: string, input: TenantUpdateInput, scope: TenantScope, context: AuditContext): Promise<TenantView> {
      const tenant = await requireTenant(slug, scope);
      const updated = await db.$transaction(async (tx) => {
        const row = await tenantStore.update(tx, tenant.id, input);
        const diff = changedFields(toTenantView(tenant), toTenantView(row));
        if (diff) await auditStore.insert(tx, context, { type: "tenant.updated", tenantId: tenant.id, target: { type: "tenant", id: tenant.id }, data: diff });
        return row;
      });
      return toTenantView(updated);
    },

    async listTenants(query: { cursor?: string; limit: number; region?: string }, scope: TenantScope): Promise<Page<TenantView>> {
      const afterId = decodeCursor(query.cursor, UUID_PATTERN);
      const rows = await tenantStore.list(db, { afterId, limit: query.limit + 1, onlyId: scope.tenantId, region: query.region });
      return toPage(rows, query.limit, toTenantView, (row) => row.id);
    },
  };
}

export type TenantService = ReturnType<typeof createTenantService>;
