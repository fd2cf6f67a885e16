import express, { Router, type Request, type Response } from "express";
import { ACS_BODY_LIMIT } from "./saml-settings";

type Deps = {
  /** The ACS: answers with the session redirect or the refusal page itself. */
  consumeAssertion(req: Request, res: Response): Promise<void>;
  /** The SingleLogoutService: answers with a redirect or a page; throws a refusal (4xx page). */
  singleLogout(req: Request, res: Response): Promise<void>;
  /** The tenant's SP metadata XML; throws not_found for an unknown tenant. */
  spMetadata(tenantSlug: string): Promise<string>;
};

/**
 * The SAML endpoints of every tenant: the ACS (HTTP-POST), single logout (HTTP-Redirect and HTTP-POST)
 * and the SP metadata. The IdP's messages arrive cross-site and carry no CSRF token: their signatures
 * authenticate them instead, so these routes sit outside the CSRF check.
 */
export function samlRouter(deps: Deps): Router {
  const router = Router();
  // The IdP posts a form; 1 MB is far above any real message, and anything larger gets 413 before parsing.
  const samlForm = express.urlencoded({ extended: false, limit: ACS_BODY_LIMIT, parameterLimit: 10 });

  router.post("/sso/:tenant/saml/acs", samlForm, (req, res) => deps.consumeAssertion(req, res));
  router.get("/sso/:tenant/saml/slo", (req, res) => deps.singleLogout(req, res));
  router.post("/sso/:tenant/saml/slo", samlForm, (req, res) => deps.singleLogout(req, res));

  router.get("/sso/:tenant/saml/metadata", async (req, res) => {
    const xml = await deps.spMetadata(String(req.params.tenant).toLowerCase());
    res.set("Cache-Control", "public, max-age=300").type("application/samlmetadata+xml").send(xml);
  });

  return router;
}
