import { Router, type Response } from "express";
import { z } from "zod";
import { contextOf } from "../platform/http/request-context";
import { parseInput, pathParam } from "../platform/http/validate";
import { connectionCreateSchema, connectionUpdateSchema, ssoPolicySchema } from "../sso/connection.schemas";
import type { SsoConnectionService } from "../sso/connection.service";
import type { SsoPolicyService } from "../sso/sso-policy.service";
import type { TenantService } from "../tenants/tenant.service";
import { callerOf, requireScope } from "./api-key.middleware";
import { pageQuery } from "./query";

type Deps = { tenants: TenantService; ssoConnections: SsoConnectionService; ssoPolicy: SsoPolicyService };

const expiringQuery = pageQuery.extend({ expiringWithinDays: z.coerce.number().int().min(0).max(3650) });

/** A tenant's SSO connections and the support-staff SSO toggle. */
export function ssoRouter(deps: Deps): Router {
  const router = Router();
  const tenantOf = (params: Record<string, string | string[] | undefined>, res: Response) =>
    deps.tenants.requireTenant(pathParam(params, "slug"), { tenantId: callerOf(res).tenantId });

  // Support staff: IdP certificates about to expire, across tenants (only its own for a tenant-bound key).
  router.get("/sso-connections", requireScope("tenants:read"), async (req, res) => {
    const query = parseInput(expiringQuery, req.query, "query");
    res.json(await deps.ssoConnections.listExpiringCertificates({ withinDays: query.expiringWithinDays, cursor: query.cursor, limit: query.limit, onlyTenantId: callerOf(res).tenantId }));
  });

  router.get("/tenants/:slug/sso-connections", requireScope("tenants:read"), async (req, res) => {
    const tenant = await tenantOf(req.params, res);
    res.json(await deps.ssoConnections.listConnections(tenant, parseInput(pageQuery, req.query, "query")));
  });

  router.post("/tenants/:slug/sso-connections", requireScope("tenants:write"), async (req, res) => {
    const tenant = await tenantOf(req.params, res);
    const input = parseInput(connectionCreateSchema, req.body);
    res.status(201).json(await deps.ssoConnections.createConnection(tenant, input, contextOf(res)));
  });

  router.get("/tenants/:slug/sso-connections/:id", requireScope("tenants:read"), async (req, res) => {
    const tenant = await tenantOf(req.params, res);
    res.json(await deps.ssoConnections.getConnection(tenant, pathParam(req.params, "id")));
  });

  router.patch("/tenants/:slug/sso-connections/:id", requireScope("tenants:write"), async (req, res) => {
    const tenant = await tenantOf(req.params, res);
    const input = parseInput(connectionUpdateSchema, req.body);
    res.json(await deps.ssoConnections.updateConnection(tenant, pathParam(req.params, "id"), input, contextOf(res)));
  });

  router.delete("/tenants/:slug/sso-connections/:id", requireScope("tenants:write"), async (req, res) => {
    const tenant = await tenantOf(req.params, res);
    await deps.ssoConnections.deleteConnection(tenant, pathParam(req.params, "id"), contextOf(res));
    res.status(204).end();
  });

  router.put("/tenants/:slug/sso", requireScope("tenants:write"), async (req, res) => {
    const tenant = await tenantOf(req.params, res);
    const input = parseInput(ssoPolicySchema, req.body);
    res.json(await deps.ssoPolicy.setPolicy(tenant, input, contextOf(res)));
  });

  return router;
}
