import { Router } from "express";
import { z } from "zod";
import { contextOf } from "../platform/http/request-context";
import { parseInput, pathParam } from "../platform/http/validate";
import { AppError } from "../platform/errors";
import type { AllowlistImpact } from "../tenants/allowlist-impact";
import { tenantCreateSchema, tenantUpdateSchema } from "../tenants/tenant.schemas";
import type { TenantService } from "../tenants/tenant.service";
import { callerOf, requireScope } from "./api-key.middleware";
import { pageQuery } from "./query";

const listQuery = pageQuery.extend({ region: z.string().max(16).optional() });
// Only the literal "true" previews; anything but "true"/"false" is a 400 rather than a silent real write.
const updateQuery = z.object({ dryRun: z.enum(["true", "false"]).optional().transform((value) => value === "true") });

export function tenantsRouter(deps: { tenants: TenantService; allowlistImpact: AllowlistImpact; regions: readonly string[] }): Router {
  const router = Router();
  const createSchema = tenantCreateSchema(deps.regions);

  router.post("/tenants", requireScope("tenants:write"), async (req, res) => {
    if (callerOf(res).tenantId) throw new AppError("forbidden", "A key bound to a tenant cannot create tenants");
    const input = parseInput(createSchema, req.body);
    res.status(201).json(await deps.tenants.createTenant(input, contextOf(res)));
  });

  router.get("/tenants", requireScope("tenants:read"), async (req, res) => {
    const query = parseInput(listQuery, req.query, "query");
    res.json(await deps.tenants.listTenants(query, { tenantId: callerOf(res).tenantId }));
  });

  router.get("/tenants/:slug", requireScope("tenants:read"), async (req, res) => {
    res.json(await deps.tenants.getTenant(pathParam(req.params, "slug"), { tenantId: callerOf(res).tenantId }));
  });

  router.patch("/tenants/:slug", requireScope("tenants:write"), async (req, res) => {
    const { dryRun } = parseInput(updateQuery, req.query, "query");
    const input = parseInput(tenantUpdateSchema, req.body);
    const slug = pathParam(req.params, "slug");
    const scope = { tenantId: callerOf(res).tenantId };
    if (dryRun) {
      res.json(await deps.allowlistImpact.previewTenantUpdate(await deps.tenants.requireTenant(slug, scope), input));
      return;
    }
    res.json(await deps.tenants.updateTenant(slug, input, scope, contextOf(res)));
  });

  return router;
}
