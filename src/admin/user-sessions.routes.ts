import { Router, type Response } from "express";
import { contextOf } from "../platform/http/request-context";
import { parseInput, pathParam } from "../platform/http/validate";
import type { SessionAdminService } from "../sessions/session-admin.service";
import type { TenantService } from "../tenants/tenant.service";
import type { UserService } from "../users/user.service";
import { callerOf, requireScope } from "./api-key.middleware";
import { pageQuery } from "./query";

/**
 * A user's sessions: list them, end one, end all; and a tenant's: list them, end all. The user must belong
 * to a tenant the key can see.
 */
export function userSessionsRouter(deps: { tenants: TenantService; users: UserService; sessionAdmin: SessionAdminService }): Router {
  const router = Router();
  const tenantOf = (params: Record<string, string | string[] | undefined>, res: Response) =>
    deps.tenants.requireTenant(pathParam(params, "slug"), { tenantId: callerOf(res).tenantId });
  const userOf = async (params: Record<string, string | string[] | undefined>, res: Response) =>
    deps.users.requireUser(await tenantOf(params, res), pathParam(params, "id"));

  router.get("/tenants/:slug/sessions", requireScope("users:read", "tenants:read"), async (req, res) => {
    const tenant = await tenantOf(req.params, res);
    res.json(await deps.sessionAdmin.listTenantSessions(tenant, parseInput(pageQuery, req.query, "query")));
  });

  router.delete("/tenants/:slug/sessions", requireScope("users:write"), async (req, res) => {
    res.json(await deps.sessionAdmin.revokeTenantSessions(await tenantOf(req.params, res), contextOf(res)));
  });

  router.get("/tenants/:slug/users/:id/sessions", requireScope("users:read", "tenants:read"), async (req, res) => {
    res.json(await deps.sessionAdmin.listUserSessions(await userOf(req.params, res)));
  });

  router.delete("/tenants/:slug/users/:id/sessions", requireScope("users:write"), async (req, res) => {
    res.json(await deps.sessionAdmin.revokeUserSessions(await userOf(req.params, res), contextOf(res)));
  });

  router.delete("/tenants/:slug/users/:id/sessions/:sessionId", requireScope("users:write"), async (req, res) => {
    const user = await userOf(req.params, res);
    res.json(await deps.sessionAdmin.revokeUserSession(user, pathParam(req.params, "sessionId"), contextOf(res)));
  });

  return router;
}
