import type { AuditContext, AuditEventInput } from "../audit/audit-event";
import type { AuditStore } from "../audit/audit.store";
import type { Clock } from "../platform/clock";
import { changedFields } from "../audit/diff";
import { randomToken, sha256Hex } from "../platform/crypto";
import type { Db, DbTx } from "../platform/db/prisma";
import { AppError, notFound } from "../platform/errors";
import { decodeCursor, toPage, UUID_PATTERN, type Page } from "../platform/pagination";
import type { ApplicationCreateInput, ApplicationUpdateInput } from "./application.schemas";
import type { ApplicationChanges, ApplicationRow, ApplicationStore } from "./application.store";
import type { ApplicationsVersion } from "./application-clients";
import type { BackchannelLogoutStore, BackchannelSummary } from "./backchannel-logout.store";

/** Who is asking: a tenant-bound API key sees only apps restricted to exactly its tenant. */
export type ApplicationCaller = { tenantId?: string };

type Deps = { db: Db; clock: Clock; versions: ApplicationsVersion; store: ApplicationStore; auditStore: AuditStore; backchannel: BackchannelLogoutStore };

export type ApplicationView = ReturnType<typeof toView>;

function toView(row: ApplicationRow, slugs: Map<string, string>) {
  return {
    id: row.id,
    name: row.name,
    clientId: row.clientId,
    redirectUris: row.redirectUris,
    postLogoutRedirectUris: row.postLogoutRedirectUris,
    backchannelLogoutUri: row.backchannelLogoutUri,
    tenants: row.tenantIds.length === 0 ? null : row.tenantIds.map((id) => slugs.get(id) ?? id).sort(),
    firstParty: row.firstParty,
    refreshTokens: row.refreshTokens,
    tokenEndpointAuthMethod: row.tokenEndpointAuthMethod as "client_secret_basic" | "client_secret_post",
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** The applications registry: product apps that sign users in through the OpenID provider. Every change is audited. */
export function createApplicationService(deps: Deps) {
  const { db, store, auditStore } = deps;
  const tenants = { slugsOf: store.tenantSlugs, idsOf: store.tenantIdsBySlug };

  const view = async (row: ApplicationRow, tx: Db | DbTx = db) => toView(row, await tenants.slugsOf(tx, row.tenantIds));

  async function requireVisible(id: string, caller: ApplicationCaller): Promise<ApplicationRow> {
    const row = UUID_PATTERN.test(id) ? await store.findById(db, id) : null;
    if (!row || !visibleTo(row, caller)) throw notFound("Application");
    return row;
  }

  /**
   * The tenant ids for `slugs` (none: every tenant). Unknown slugs, and for a tenant-bound caller any other
   * tenant, are 404 as elsewhere in the API; a bound caller cannot open an app to every tenant.
   */
  async function resolveTenants(slugs: string[] | null | undefined, caller: ApplicationCaller): Promise<string[]> {
    if (!slugs) {
      if (caller.tenantId) throw new AppError("forbidden", "A key bound to a tenant can only register apps restricted to that tenant: send tenants: [its slug]");
      return [];
    }
    const ids = await tenants.idsOf(db, slugs);
    const missing = slugs.filter((slug) => !ids.has(slug) || (caller.tenantId && ids.get(slug) !== caller.tenantId));
    if (missing.length > 0) throw notFound(`Tenant ${missing.join(", ")}`);
    return slugs.map((slug) => ids.get(slug)!);
  }

  type ApplicationEvent = "application.created" | "application.updated" | "application.deleted" | "application.backchannel_logouts_requeued";
  function audit(tx: DbTx, context: AuditContext, type: ApplicationEvent, row: ApplicationRow, data: Record<string, unknown>) {
    // One row per tenant the app serves, so each tenant's trail shows it; an app for every tenant is global.
    const tenantIds: (string | null)[] = row.tenantIds.length > 0 ? row.tenantIds : [null];
    const events: AuditEventInput[] = tenantIds.map((tenantId) => ({ type, tenantId, target: { type: "application", id: row.id }, data }));
    return auditStore.insertMany(tx, context, events);
  }

  return {
    /** The secret is in this response only; the database keeps its SHA-256 (it is 256 random bits, like an API key). */
    async create(input: ApplicationCreateInput, caller: ApplicationCaller, context: AuditContext) {
      const tenantIds = await resolveTenants(input.tenants, caller);
      const clientSecret = randomToken(32);
      return db.$transaction(async (tx) => {
        const row = await store.create(tx, {
          name: input.name,
          clientId: randomToken(18),
          clientSecretHash: sha256Hex(clientSecret),
          tokenEndpointAuthMethod: input.tokenEndpointAuthMethod,
          redirectUris: input.redirectUris,
          postLogoutRedirectUris: input.postLogoutRedirectUris,
          backchannelLogoutUri: input.backchannelLogoutUri ?? null,
          tenantIds,
          firstParty: input.firstParty,
          refreshTokens: input.refreshTokens,
        });
        const shown = await view(row, tx);
        await audit(tx, context, "application.created", row, { after: shown });
        return { ...shown, clientSecret };
      });
    },

    async get(id: string, caller: ApplicationCaller) {
      return view(await requireVisible(id, caller));
    },

    async list(query: { cursor?: string; limit: number }, caller: ApplicationCaller): Promise<Page<ApplicationView>> {
      const rows = await store.list(db, { afterId: decodeCursor(query.cursor, UUID_PATTERN), limit: query.limit + 1, tenantId: caller.tenantId });
      const slugs = await tenants.slugsOf(db, [...new Set(rows.flatMap((row) => row.tenantIds))]);
      return toPage(rows, query.limit, (row) => toView(row, slugs), (row) => row.id);
    },

    async update(id: string, input: ApplicationUpdateInput, caller: ApplicationCaller, context: AuditContext) {
      const before = await requireVisible(id, caller);
      const { tenants: slugs, ...fields } = input;
      const changes: ApplicationChanges = slugs === undefined ? fields : { ...fields, tenantIds: await resolveTenants(slugs, caller) };
      const updated = await db.$transaction(async (tx) => {
        const row = await store.update(tx, before.id, changes);
        const [was, now] = [await view(before, tx), await view(row, tx)];
        const diff = changedFields(was, now);
        // A change of tenants is recorded in the trail of every tenant it concerns, before and after.
        if (diff) await audit(tx, context, "application.updated", { ...row, tenantIds: [...new Set([...before.tenantIds, ...row.tenantIds])] }, diff);
        return now;
      });
      await deps.versions.changed();
      return updated;
    },

    /** The back-channel logouts still owed to the app, and those given up on after the last retry. */
    async backchannelLogouts(id: string, caller: ApplicationCaller): Promise<BackchannelSummary> {
      return deps.backchannel.summarize(db, (await requireVisible(id, caller)).clientId);
    },

    /** Once the app is fixed: the logouts given up on are owed again, with a fresh series of retries. */
    async requeueBackchannelLogouts(id: string, caller: ApplicationCaller, context: AuditContext): Promise<{ requeued: number }> {
      const row = await requireVisible(id, caller);
      return db.$transaction(async (tx) => {
        const requeued = await deps.backchannel.requeueFailed(tx, row.clientId, deps.clock.now());
        if (requeued > 0) await audit(tx, context, "application.backchannel_logouts_requeued", row, { requeued });
        return { requeued };
      });
    },

    /** Deleting an app ends its sign-ins: the provider no longer finds the client, so its tokens stop working. */
    async delete(id: string, caller: ApplicationCaller, context: AuditContext): Promise<void> {
      const row = await requireVisible(id, caller);
      await db.$transaction(async (tx) => {
        const shown = await view(row, tx);
        await store.delete(tx, row.id);
        await deps.backchannel.forgetClient(tx, row.clientId);
        await audit(tx, context, "application.deleted", row, { before: shown });
      });
      await deps.versions.changed();
    },
  };
}

function visibleTo(row: ApplicationRow, caller: ApplicationCaller): boolean {
  return !caller.tenantId || (row.tenantIds.length === 1 && row.tenantIds[0] === caller.tenantId);
}

export type ApplicationService = ReturnType<typeof createApplicationService>;
