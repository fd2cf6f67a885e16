import type { Db } from "../platform/db/prisma";
import { decodeCursor, encodeCursor, UUID_PATTERN, type Page } from "../platform/pagination";
import { summariseStored, type CertificateSummary } from "./certificates";

/** One IdP signing certificate that expires within the asked window (or has expired). */
export type ExpiringCertificate = {
  tenant: string;
  connectionId: string;
  enabled: boolean;
  idpEntityId: string;
  certificate: CertificateSummary;
};

const SCAN_CHUNK = 200;

/**
 * SAML signing certificates across tenants (or one tenant, for a tenant-bound key) that expire within
 * `withinDays`, soonest first within each page. Pages walk connections by id: a page holds the matches
 * of the connections it scanned, so `nextCursor` is the last connection id scanned.
 */
export async function listExpiringCertificates(
  db: Db,
  query: { withinDays: number; cursor?: string; limit: number; onlyTenantId?: string },
  now: Date,
): Promise<Page<ExpiringCertificate>> {
  const items: ExpiringCertificate[] = [];
  let afterId = decodeCursor(query.cursor, UUID_PATTERN);
  for (;;) {
    const rows = await db.ssoConnection.findMany({
      where: { type: "saml", ...(afterId ? { id: { gt: afterId } } : {}), ...(query.onlyTenantId ? { tenantId: query.onlyTenantId } : {}) },
      orderBy: { id: "asc" },
      take: SCAN_CHUNK,
      select: { id: true, enabled: true, idpEntityId: true, certificates: true, tenant: { select: { slug: true } } },
    });
    for (const row of rows) {
      const expiring = summariseStored(row.certificates, now).filter((cert) => cert.daysLeft <= query.withinDays);
      for (const certificate of expiring.sort((a, b) => a.daysLeft - b.daysLeft)) {
        items.push({ tenant: row.tenant.slug, connectionId: row.id, enabled: row.enabled, idpEntityId: row.idpEntityId ?? "", certificate });
      }
      afterId = row.id;
      if (items.length >= query.limit) return { items, nextCursor: encodeCursor(afterId) };
    }
    if (rows.length < SCAN_CHUNK) return { items, nextCursor: null };
  }
}
