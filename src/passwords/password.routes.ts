import express, { Router, type Request, type Response } from "express";
import { z } from "zod";
import type { BrowserCookies } from "../platform/http/browser-cookies";
import type { Csrf } from "../platform/http/csrf";
import { regionOf } from "../platform/http/region";
import { contextOf } from "../platform/http/request-context";
import type { Views } from "../platform/http/views";
import type { PasswordChangeService } from "./password-change.service";
import type { PasswordResetService } from "./password-reset.service";

type Deps = {
  reset: PasswordResetService;
  change: PasswordChangeService;
  regions: readonly string[];
  minLength: number;
  cookies: BrowserCookies;
  csrf: Csrf;
  views: Views;
};

const field = (max: number) => z.string().max(max).catch("").default("");
const forgotForm = z.object({ tenant: field(63), email: field(320) });
const resetForm = z.object({ token: field(100), new_password: field(1024) });
const changeForm = z.object({ password: field(1024), new_password: field(1024), end_other_sessions: field(8) });

const SENT = "If that account signs in with a password, a link to choose a new one is on its way. It works once, for 30 minutes.";

/** /{region}/password/forgot, /reset and /change. */
export function passwordRouter(deps: Deps): Router {
  const router = Router();
  const forms = express.urlencoded({ extended: false, limit: "8kb", parameterLimit: 10 });
  const guard = (req: Request) => deps.csrf.verify(req, deps.cookies.readBrowserId(req));
  const page = (req: Request, res: Response, template: string, data: Record<string, unknown> & { title: string }, status = 200) =>
    deps.views.render(res, template, { region: regionOf(req, deps.regions), minLength: deps.minLength, csrfToken: deps.csrf.tokenFor(deps.cookies.ensureBrowserId(req, res)), ...data }, status);
  const client = (res: Response) => ({ ip: contextOf(res).ip, requestId: contextOf(res).requestId });

  router.get("/:region/password/forgot", (req, res) => {
    page(req, res, "password-forgot", { title: "Forgot your password?", tenant: typeof req.query.tenant === "string" ? req.query.tenant.slice(0, 63) : "" });
  });

  router.post("/:region/password/forgot", forms, async (req, res) => {
    regionOf(req, deps.regions);
    guard(req);
    const form = forgotForm.parse(req.body ?? {});
    if (!form.tenant || !form.email) {
      page(req, res, "password-forgot", { title: "Forgot your password?", ...form, error: "Enter your account and email." }, 400);
      return;
    }
    const outcome = await deps.reset.requestReset({ tenantSlug: form.tenant, email: form.email }, client(res));
    if (outcome.throttled) {
      res.set("Retry-After", String(outcome.retryAfterSeconds));
      page(req, res, "password-forgot", { title: "Forgot your password?", ...form, error: `Too many requests. Try again in ${outcome.retryAfterSeconds} seconds.` }, 429);
      return;
    }
    page(req, res, "message", { title: "Check your email", message: SENT });
  });

  // The token sits in the URL: no-referrer keeps it from leaking to any other page or site.
  const resetPage = (req: Request, res: Response, token: string, data: Record<string, unknown>, status = 200) => {
    res.set("Referrer-Policy", "no-referrer");
    page(req, res, "password-reset", { title: "Choose a new password", token, referrer: "no-referrer", ...data }, status);
  };

  router.get("/:region/password/reset", async (req, res) => {
    regionOf(req, deps.regions);
    const token = typeof req.query.token === "string" ? req.query.token.slice(0, 100) : "";
    if (!token || !(await deps.reset.isUsable(token))) return expiredLink(req, res);
    resetPage(req, res, token, {});
  });

  router.post("/:region/password/reset", forms, async (req, res) => {
    regionOf(req, deps.regions);
    guard(req);
    const form = resetForm.parse(req.body ?? {});
    const result = await deps.reset.setPasswordWithToken(form.token, form.new_password, client(res));
    if (result.kind === "invalid_token") return expiredLink(req, res);
    if (result.kind === "refused") return resetPage(req, res, form.token, { reasons: result.reasons.map((r) => r.message) }, 400);
    res.set("Referrer-Policy", "no-referrer");
    page(req, res, "message", {
      title: "Password changed",
      message: "Your password was changed and your sessions were signed out. Sign in with the new password; you will still be asked for your second factor.",
      link: { href: `/${result.region}/login`, text: "Sign in" },
    });
  });

  function expiredLink(req: Request, res: Response): void {
    res.set("Referrer-Policy", "no-referrer");
    const r = regionOf(req, deps.regions);
    page(req, res, "message", { title: "Link expired", message: "This link has expired or was already used. Ask for a new one.", link: { href: `/${r}/password/forgot`, text: "Request a new link" } }, 400);
  }

  router.get("/:region/password/change", (req, res) => {
    if (!res.locals.session) return res.redirect(303, `/login?return_to=${encodeURIComponent(req.originalUrl)}`);
    page(req, res, "password-change", { title: "Change your password", required: res.locals.session.restriction === "password_change" });
  });

  router.post("/:region/password/change", forms, async (req, res) => {
    regionOf(req, deps.regions);
    guard(req);
    const session = res.locals.session;
    const token = res.locals.sessionToken;
    if (!session || !token) return res.redirect(303, "/login");
    const form = changeForm.parse(req.body ?? {});
    const shown = { title: "Change your password", required: session.restriction === "password_change" };
    const result = await deps.change.changePassword(session, token, { currentPassword: form.password, newPassword: form.new_password, endOtherSessions: form.end_other_sessions === "yes" }, client(res));
    switch (result.kind) {
      case "wrong_current":
        return page(req, res, "password-change", { ...shown, error: "Your current password is not correct." }, 401);
      case "throttled":
        res.set("Retry-After", String(result.retryAfterSeconds));
        return page(req, res, "password-change", { ...shown, error: `Too many attempts. Try again in ${result.retryAfterSeconds} seconds.` }, 429);
      case "refused":
        return page(req, res, "password-change", { ...shown, reasons: result.reasons.map((r) => r.message) }, 400);
      case "changed":
        if (result.newToken) deps.cookies.setSession(res, result.newToken);
        return res.redirect(303, "/account");
    }
  });

  return router;
}
