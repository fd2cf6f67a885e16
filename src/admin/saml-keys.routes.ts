import { Router, type Response } from "express";
import { AppError } from "../platform/errors";
import { contextOf } from "../platform/http/request-context";
import { pathParam } from "../platform/http/validate";
import { UUID_PATTERN } from "../platform/pagination";
import type { SamlSpKeys } from "../sso/saml/sp-signing-key";
import { callerOf, requireScope } from "./api-key.middleware";

const USES = new Set(["signing", "encryption"]);

/**
 * /saml/sp-keys/{use}: the SAML service provider's keys (signing, encryption), rolled over in stages. A new
 * key is staged (published in SP metadata as "next"), activated once the IdPs have it, and the key it
 * replaced is retired when no IdP uses it any more. The keys serve every tenant: only an unbound API key
 * with the key-management scope may see or change them.
 */
export function samlKeysRouter(deps: { samlSpKeys: SamlSpKeys }): Router {
  const router = Router();

  function keysOf(req: { params: Record<string, string | string[] | undefined> }, res: Response) {
    if (callerOf(res).tenantId) throw new AppError("forbidden", "A key bound to a tenant cannot manage the SAML service provider's keys");
    const use = pathParam(req.params, "use");
    if (!USES.has(use)) throw new AppError("not_found", "SAML SP keys are either signing or encryption keys");
    return deps.samlSpKeys[use as keyof SamlSpKeys];
  }

  function keyId(req: { params: Record<string, string | string[] | undefined> }): string {
    const id = pathParam(req.params, "id");
    if (!UUID_PATTERN.test(id)) throw new AppError("not_found", "No such SAML service provider key");
    return id;
  }

  router.get("/saml/sp-keys/:use", requireScope("api_keys:write"), async (req, res) => {
    res.json(await keysOf(req, res).list());
  });

  router.post("/saml/sp-keys/:use", requireScope("api_keys:write"), async (req, res) => {
    res.status(201).json(await keysOf(req, res).stage(contextOf(res)));
  });

  router.post("/saml/sp-keys/:use/:id/activate", requireScope("api_keys:write"), async (req, res) => {
    const keys = keysOf(req, res);
    res.json(await keys.activate(keyId(req), contextOf(res)));
  });

  router.post("/saml/sp-keys/:use/:id/retire", requireScope("api_keys:write"), async (req, res) => {
    const keys = keysOf(req, res);
    res.json(await keys.retire(keyId(req), contextOf(res)));
  });

  return router;
}
