import express, { Router, type Request, type Response } from "express";
import { z } from "zod";
import type { BrowserCookies } from "../platform/http/browser-cookies";
import type { Csrf } from "../platform/http/csrf";
import { regionOf } from "../platform/http/region";
import { contextOf } from "../platform/http/request-context";
import { safeReturnTo } from "../platform/http/return-to";
import { loginHintOf } from "./login-hint";
import type { Views } from "../platform/http/views";
import type { LocalLoginDeps, LoginClient } from "./deps";
import { startLocalLogin, type PasswordStepResult } from "./password-step";
import { confirmEnrolment, offerEnrolment, skipEnrolment, verifySecondFactor, type SecondFactorResult } from "./second-factor";
import { totpQrDataUri } from "../mfa/qr";

export type LocalLoginRoutesDeps = { login: LocalLoginDeps; regions: readonly string[]; cookies: BrowserCookies; csrf: Csrf; views: Views };

const FAILED = "The account, email or password is not correct.";
const text = (max: number) => z.string().max(max).default("");
const passwordForm = z.object({ tenant: text(63), email: text(320), password: text(1024), return_to: text(2048) });
const codeForm = z.object({ code: text(32) });

/** The regional local login: /{region}/login -> /{region}/login/mfa or /{region}/mfa/setup -> session. */
export function localLoginRouter(deps: LocalLoginRoutesDeps): Router {
  const router = Router();
  const { views, cookies, csrf } = deps;
  const forms = express.urlencoded({ extended: false, limit: "16kb", parameterLimit: 20 });

  const region = (req: Request): string => regionOf(req, deps.regions);
  const clientOf = (req: Request, res: Response): LoginClient => {
    const ctx = contextOf(res);
    return { ip: ctx.ip, userAgent: ctx.userAgent, requestId: ctx.requestId, browserId: cookies.ensureBrowserId(req, res) };
  };
  const guard = (req: Request) => csrf.verify(req, cookies.readBrowserId(req));
  const page = (req: Request, res: Response, template: string, data: Record<string, unknown> & { title: string }, status = 200) =>
    views.render(res, template, { region: region(req), csrfToken: csrf.tokenFor(cookies.ensureBrowserId(req, res)), ...data }, status);

  router.get("/:region/login", (req, res) => {
    const returnTo = safeReturnTo(req.query.return_to, { fallback: "" });
    // An app's login_hint prefills the email; the user may change it.
    page(req, res, "login", { title: "Sign in", tenant: typeof req.query.tenant === "string" ? req.query.tenant.slice(0, 63) : "", email: loginHintOf(req.query.login_hint), returnTo });
  });

  router.post("/:region/login", forms, async (req, res) => {
    const r = region(req);
    guard(req);
    const form = passwordForm.safeParse(req.body ?? {});
    const input = form.success ? form.data : { tenant: "", email: "", password: "", return_to: "" };
    const returnTo = safeReturnTo(input.return_to, { fallback: "" });
    const shown = { title: "Sign in", tenant: input.tenant, email: input.email, returnTo };
    if (!input.tenant || !input.email || !input.password) {
      page(req, res, "login", { ...shown, error: "Enter your account, email and password." }, 400);
      return;
    }
    const result = await startLocalLogin(deps.login, { region: r, tenantSlug: input.tenant, email: input.email, password: input.password, returnTo: returnTo || "/account" }, clientOf(req, res));
    respondToPasswordStep(req, res, r, result, shown);
  });

  function respondToPasswordStep(req: Request, res: Response, r: string, result: PasswordStepResult, shown: Record<string, unknown> & { title: string }): void {
    switch (result.kind) {
      case "pending":
        cookies.setPending(res, result.token);
        res.redirect(303, result.next === "mfa" ? `/${r}/login/mfa` : `/${r}/mfa/setup`);
        return;
      case "wrong_region":
        res.redirect(303, result.location);
        return;
      case "throttled":
        res.set("Retry-After", String(result.retryAfterSeconds));
        page(req, res, "login", { ...shown, error: `Too many attempts. Try again in ${result.retryAfterSeconds} seconds.` }, 429);
        return;
      case "ip_blocked":
        page(req, res, "message", { title: "Access denied", message: "Your organisation does not allow sign-in from this network." }, 403);
        return;
      case "sso_required":
        page(req, res, "message", {
          title: "Use single sign-on",
          message: "Your organisation requires you to sign in with its single sign-on.",
          link: { href: `/sso/${encodeURIComponent(result.tenantSlug)}/start`, text: "Continue with single sign-on" },
        }, 403);
        return;
      case "failed":
        page(req, res, "login", { ...shown, error: FAILED }, 401);
    }
  }

  router.get("/:region/login/mfa", async (req, res) => {
    const r = region(req);
    if (!cookies.readPending(req)) {
      res.redirect(303, `/${r}/login`);
      return;
    }
    page(req, res, "mfa", { title: "Two-step verification" });
  });

  router.post("/:region/login/mfa", forms, async (req, res) => {
    guard(req);
    const code = codeForm.safeParse(req.body ?? {});
    const result = await verifySecondFactor(deps.login, cookies.readPending(req), code.success ? code.data.code : "", clientOf(req, res));
    await respondToSecondFactor(req, res, result, "mfa");
  });

  router.get("/:region/mfa/setup", async (req, res) => {
    await renderSetup(req, res);
  });

  async function renderSetup(req: Request, res: Response, error?: string, status = 200): Promise<void> {
    const offer = await offerEnrolment(deps.login, cookies.readPending(req), clientOf(req, res));
    if (!offer) {
      res.redirect(303, `/${region(req)}/login`);
      return;
    }
    const qrDataUri = await totpQrDataUri(offer.uri);
    page(req, res, "mfa-setup", { title: "Set up two-step verification", secret: offer.secret, uri: offer.uri, qrDataUri, canSkip: offer.canSkip, error }, status);
  }

  router.post("/:region/mfa/setup", forms, async (req, res) => {
    guard(req);
    const code = codeForm.safeParse(req.body ?? {});
    const result = await confirmEnrolment(deps.login, cookies.readPending(req), code.success ? code.data.code : "", clientOf(req, res));
    await respondToSecondFactor(req, res, result, "setup");
  });

  router.post("/:region/mfa/setup/skip", forms, async (req, res) => {
    guard(req);
    await respondToSecondFactor(req, res, await skipEnrolment(deps.login, cookies.readPending(req), clientOf(req, res)), "setup");
  });

  async function respondToSecondFactor(req: Request, res: Response, result: SecondFactorResult, step: "mfa" | "setup"): Promise<void> {
    const r = region(req);
    switch (result.kind) {
      case "finished":
        cookies.clearPending(res);
        cookies.setSession(res, result.login.sessionToken);
        // New recovery codes are shown once, on the account page, before the user moves on.
        if (result.login.mustChangePassword) return res.redirect(303, `/${r}/password/change`);
        res.redirect(303, result.showRecoveryCodes ? `/account?return_to=${encodeURIComponent(result.login.returnTo)}` : result.login.returnTo);
        return;
      case "no_pending":
        cookies.clearPending(res);
        page(req, res, "message", { title: "Sign-in expired", message: "Your sign-in has expired or was ended. Please start again.", link: { href: `/${r}/login`, text: "Sign in" } }, 401);
        return;
      case "throttled":
        res.set("Retry-After", String(result.retryAfterSeconds));
        page(req, res, "mfa", { title: "Two-step verification", error: `Too many attempts. Try again in ${result.retryAfterSeconds} seconds.` }, 429);
        return;
      case "failed":
        if (step === "setup") {
          await renderSetup(req, res, "That code is not valid. Check the time on your device and try the current code.", 401);
          return;
        }
        page(req, res, "mfa", { title: "Two-step verification", error: `That code is not valid. ${result.attemptsLeft} attempts left.` }, 401);
    }
  }

  return router;
}
