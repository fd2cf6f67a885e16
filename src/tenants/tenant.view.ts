import type { TenantRow } from "./tenant.store";

export type TenantView = ReturnType<typeof toTenantView>;

export function toTenantView(tenant: TenantRow) {
  return {
    id: tenant.id,
    slug: tenant.slug,
    name: tenant.name,
    region: tenant.region,
    emailDomains: tenant.emailDomains,
    mfaRequired: tenant.mfaRequired,
    requireLocalMfaForSso: tenant.requireLocalMfaForSso,
    ipAllowlist: tenant.ipAllowlist,
    sessionIdleMinutes: tenant.sessionIdleMinutes,
    sessionAbsoluteHours: tenant.sessionAbsoluteHours,
    sso: { enabled: tenant.ssoEnabled, enforced: tenant.ssoEnforced },
    securityContactEmail: tenant.securityContactEmail,
    createdAt: tenant.createdAt.toISOString(),
    updatedAt: tenant.updatedAt.toISOString(),
  };
}
