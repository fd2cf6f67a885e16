import { Router } from "express";
import { z } from "zod";
import { AUDIT_EVENT_TYPES } from "../audit/audit-event";
import type { AuditService } from "../audit/audit.service";
import { parseInput, pathParam } from "../platform/http/validate";
import type { TenantService } from "../tenants/tenant.service";
import { callerOf, requireScope } from "./api-key.middleware";
import { pageQuery } from "./query";

const auditQuery = pageQuery.extend({
  // `type=a,b` or repeated `type=a&type=b`
  type: z
    .union([z.string(), z.array(z.string())])
    .transform((value) => (Array.isArray(value) ? value : value.split(",")).map((t) => t.trim()).filter(Boolean))
    .pipe(z.array(z.enum(AUDIT_EVENT_TYPES)).max(30))
    .optional(),
  since: z.iso.datetime({ offset: true }).transform((value) => new Date(value)).optional(),
  until: z.iso.datetime({ offset: true }).transform((value) => new Date(value)).optional(),
});

export function auditRouter(deps: { tenants: TenantService; audit: AuditService }): Router {
  const router = Router();
  router.get("/tenants/:slug/audit-events", requireScope("audit:read"), async (req, res) => {
    const tenant = await deps.tenants.requireTenant(pathParam(req.params, "slug"), { tenantId: callerOf(res).tenantId });
    const query = parseInput(auditQuery, req.query, "query");
    res.json(await deps.audit.listTenantEvents({ ...query, types: query.type, tenantId: tenant.id }));
  });
  return router;
}
