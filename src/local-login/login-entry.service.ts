import type { Db } from "../platform/db/prisma";
import type { TenantStore } from "../tenants/tenant.store";

type Deps = { db: Db; tenantStore: TenantStore; regions: readonly string[]; regionUrls: Readonly<Record<string, string>>; publicUrl: string };

/**
 * Where /login sends an account: to its identity provider when the tenant has SSO on, otherwise to its
 * region's local login (the regional URLs stay open for bypass accounts either way). An unknown
 * account goes to the first region's login, where it fails like any wrong credential: the entry page
 * itself never says whether an account exists.
 */
export function createLoginEntryService(deps: Deps) {
  return {
    async destinationFor(tenantSlug: string, returnTo: string, loginHint = ""): Promise<string> {
      const tenant = /^[a-z0-9-]{1,63}$/.test(tenantSlug) ? await deps.tenantStore.findBySlug(deps.db, tenantSlug) : null;
      if (tenant?.ssoEnabled) {
        const query = returnTo ? `?${new URLSearchParams({ return_to: returnTo }).toString()}` : "";
        return `${deps.publicUrl}/sso/${tenant.slug}/start${query}`;
      }
      const region = tenant?.region ?? deps.regions[0]!;
      const query = new URLSearchParams({ tenant: tenantSlug, ...(loginHint ? { login_hint: loginHint } : {}), ...(returnTo ? { return_to: returnTo } : {}) });
      return `${deps.regionUrls[region]}/${region}/login?${query.toString()}`;
    },
  };
}

export type LoginEntryService = ReturnType<typeof createLoginEntryService>;
