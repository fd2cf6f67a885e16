import { Router, type Response } from "express";
import { contextOf } from "../platform/http/request-context";
import { pathParam } from "../platform/http/validate";
import type { SessionAdminService } from "../sessions/session-admin.service";
import type { TenantService } from "../tenants/tenant.service";
import type { UserService } from "../users/user.service";
import { callerOf, requireScope } from "./api-key.middleware";

/** A user's sessions: list them, end one, end all. The user must belong to a tenant the key can see. */
export function userSessionsRouter(deps: { tenants: TenantService; users: UserService; sessionAdmin: SessionAdminService }): Router {
  const router = Router();
  const userOf = async (params: Record<string, string | string[] | undefined>, res: Response) => {
    const tenant = await deps.tenants.requireTenant(pathParam(params, "slug"), { tenantId: callerOf(res).tenantId });
    return deps.users.requireUser(tenant, pathParam(params, "id"));
  };

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
