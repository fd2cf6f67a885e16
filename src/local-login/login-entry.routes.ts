import express, { Router, type Request, type Response } from "express";
import type { BrowserCookies } from "../platform/http/browser-cookies";
import type { Csrf } from "../platform/http/csrf";
import { safeReturnTo } from "../platform/http/return-to";
import type { Views } from "../platform/http/views";
import type { LoginEntryService } from "./login-entry.service";
import { loginHintOf } from "./login-hint";

type Deps = { entry: LoginEntryService; cookies: BrowserCookies; csrf: Csrf; views: Views };

/** GET/POST /login: the SSO-first entry that sends each account to the right door. */
export function loginEntryRouter(deps: Deps): Router {
  const router = Router();
  const forms = express.urlencoded({ extended: false, limit: "4kb", parameterLimit: 10 });

  const route = async (res: Response, tenant: string, returnTo: string, loginHint = "") => {
    res.redirect(303, await deps.entry.destinationFor(tenant, returnTo, loginHint));
  };
  const form = (req: Request, res: Response, returnTo: string, status = 200, error?: string) =>
    deps.views.render(res, "account-entry", { title: "Sign in", returnTo, error, csrfToken: deps.csrf.tokenFor(deps.cookies.ensureBrowserId(req, res)) }, status);

  router.get("/login", async (req, res) => {
    const returnTo = safeReturnTo(req.query.return_to, { fallback: "" });
    const tenant = typeof req.query.tenant === "string" ? req.query.tenant.trim().toLowerCase() : "";
    if (tenant) return route(res, tenant, returnTo, loginHintOf(req.query.login_hint));
    form(req, res, returnTo);
  });

  router.post("/login", forms, async (req, res) => {
    deps.csrf.verify(req, deps.cookies.readBrowserId(req));
    const returnTo = safeReturnTo(req.body?.return_to, { fallback: "" });
    const tenant = typeof req.body?.tenant === "string" ? req.body.tenant.trim().toLowerCase().slice(0, 63) : "";
    if (!tenant) return form(req, res, returnTo, 400, "Enter your account name.");
    await route(res, tenant, returnTo);
  });

  return router;
}
