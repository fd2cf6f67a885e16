import { Router, type Response } from "express";
import { z } from "zod";
import type { MfaAdminService } from "../mfa/mfa-admin.service";
import { contextOf } from "../platform/http/request-context";
import { parseInput, pathParam } from "../platform/http/validate";
import type { TenantService } from "../tenants/tenant.service";
import { userCreateSchema, userUpdateSchema } from "../users/user.schemas";
import type { UserService } from "../users/user.service";
import { callerOf, requireScope } from "./api-key.middleware";
import { pageQuery } from "./query";

const listQuery = pageQuery.extend({
  email: z.string().trim().min(1).max(320).optional(),
  status: z.enum(["active", "deactivated"]).optional(),
  kind: z.enum(["member", "contractor", "client"]).optional(),
});

export function usersRouter(deps: { tenants: TenantService; users: UserService; mfaAdmin: MfaAdminService }): Router {
  const router = Router();
  const tenantOf = (slug: string, res: Response) => deps.tenants.requireTenant(slug, { tenantId: callerOf(res).tenantId });

  router.get("/tenants/:slug/users", requireScope("users:read", "tenants:read"), async (req, res) => {
    const query = parseInput(listQuery, req.query, "query");
    res.json(await deps.users.listUsers(await tenantOf(pathParam(req.params, "slug"), res), query));
  });

  router.post("/tenants/:slug/users", requireScope("users:write"), async (req, res) => {
    const tenant = await tenantOf(pathParam(req.params, "slug"), res);
    const input = parseInput(userCreateSchema, req.body);
    res.status(201).json(await deps.users.createUser(tenant, input, contextOf(res)));
  });

  router.get("/tenants/:slug/users/:id", requireScope("users:read", "tenants:read"), async (req, res) => {
    res.json(await deps.users.getUser(await tenantOf(pathParam(req.params, "slug"), res), pathParam(req.params, "id")));
  });

  router.patch("/tenants/:slug/users/:id", requireScope("users:write"), async (req, res) => {
    const tenant = await tenantOf(pathParam(req.params, "slug"), res);
    const input = parseInput(userUpdateSchema, req.body);
    res.json(await deps.users.updateUser(tenant, pathParam(req.params, "id"), input, contextOf(res)));
  });

  router.post("/tenants/:slug/users/:id/mfa/reset", requireScope("users:write"), async (req, res) => {
    const tenant = await tenantOf(pathParam(req.params, "slug"), res);
    res.json(await deps.mfaAdmin.resetMfa(tenant, pathParam(req.params, "id"), contextOf(res)));
  });

  return router;
}
