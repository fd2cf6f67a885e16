import type { Db } from "../platform/db/prisma";
import type { TenantStore } from "../tenants/tenant.store";

type Deps = { db: Db; tenantStore: TenantStore; regions: readonly string[]; regionUrls: Readonly<Record<string, string>> };

/**
 * Where /login sends an account. Until a tenant has SSO, that is its region's local login. An unknown
 * account goes to the first region's login, where it fails like any wrong credential: the entry page
 * itself never says whether an account exists.
 */
export function createLoginEntryService(deps: Deps) {
  return {
    async destinationFor(tenantSlug: string, returnTo: string): Promise<string> {
      const tenant = /^[a-z0-9-]{1,63}$/.test(tenantSlug) ? await deps.tenantStore.findBySlug(deps.db, tenantSlug) : null;
      const region = tenant?.region ?? deps.regions[0]!;
      const query = new URLSearchParams({ tenant: tenantSlug, ...(returnTo ? { return_to: returnTo } : {}) });
      return `${deps.regionUrls[region]}/${region}/login?${query.toString()}`;
    },
  };
}

export type LoginEntryService = ReturnType<typeof createLoginEntryService>;
