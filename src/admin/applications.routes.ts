import { Router, type Response } from "express";
import { applicationCreateSchema, applicationUpdateSchema } from "../apps/application.schemas";
import type { ApplicationService } from "../apps/application.service";
import type { ProviderKeys } from "../apps/provider-keys";
import type { AuditContext } from "../audit/audit-event";
import { AppError } from "../platform/errors";
import { contextOf } from "../platform/http/request-context";
import { parseInput, pathParam } from "../platform/http/validate";
import { callerOf, requireScope } from "./api-key.middleware";
import { pageQuery } from "./query";

export type OidcSigningKeys = {
  rotate(context: AuditContext): ReturnType<ProviderKeys["rotate"]>;
  list(): ReturnType<ProviderKeys["list"]>;
};

/** /applications: the product apps of the OpenID provider; /oidc/signing-keys: its signing keys. */
export function applicationsRouter(deps: { applications: ApplicationService; oidcSigningKeys: OidcSigningKeys }): Router {
  const router = Router();
  const { applications } = deps;
  const caller = (res: Response) => ({ tenantId: callerOf(res).tenantId });

  router.post("/applications", requireScope("applications:write"), async (req, res) => {
    const input = parseInput(applicationCreateSchema, req.body);
    res.status(201).json(await applications.create(input, caller(res), contextOf(res)));
  });

  router.get("/applications", requireScope("applications:read"), async (req, res) => {
    res.json(await applications.list(parseInput(pageQuery, req.query, "query"), caller(res)));
  });

  router.get("/applications/:id", requireScope("applications:read"), async (req, res) => {
    res.json(await applications.get(pathParam(req.params, "id"), caller(res)));
  });

  router.patch("/applications/:id", requireScope("applications:write"), async (req, res) => {
    const input = parseInput(applicationUpdateSchema, req.body);
    res.json(await applications.update(pathParam(req.params, "id"), input, caller(res), contextOf(res)));
  });

  router.delete("/applications/:id", requireScope("applications:write"), async (req, res) => {
    await applications.delete(pathParam(req.params, "id"), caller(res), contextOf(res));
    res.status(204).end();
  });

  router.get("/applications/:id/backchannel-logouts", requireScope("applications:read"), async (req, res) => {
    res.json(await applications.backchannelLogouts(pathParam(req.params, "id"), caller(res)));
  });

  router.post("/applications/:id/backchannel-logouts/retry", requireScope("applications:write"), async (req, res) => {
    res.json(await applications.requeueBackchannelLogouts(pathParam(req.params, "id"), caller(res), contextOf(res)));
  });

  // The provider's keys serve every tenant: only an unbound key may see or rotate them.
  const unboundOnly = (res: Response) => {
    if (callerOf(res).tenantId) throw new AppError("forbidden", "A key bound to a tenant cannot manage the OpenID provider's signing keys");
  };

  router.get("/oidc/signing-keys", requireScope("api_keys:write"), async (_req, res) => {
    unboundOnly(res);
    res.json(await deps.oidcSigningKeys.list());
  });

  router.post("/oidc/signing-keys/rotate", requireScope("api_keys:write"), async (_req, res) => {
    unboundOnly(res);
    res.status(201).json(await deps.oidcSigningKeys.rotate(contextOf(res)));
  });

  return router;
}
