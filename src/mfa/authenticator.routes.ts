import express, { Router, type Request, type Response } from "express";
import { z } from "zod";
import type { BrowserCookies } from "../platform/http/browser-cookies";
import type { Csrf } from "../platform/http/csrf";
import type { Views } from "../platform/http/views";
import { requireBrowserSession } from "../sessions/session.middleware";
import type { AuthenticatorReplacement, Requester } from "./authenticator-replacement";
import { totpQrDataUri } from "./qr";

type Deps = { replacement: AuthenticatorReplacement; cookies: BrowserCookies; csrf: Csrf; views: Views };

const codeForm = z.object({ code: z.string().max(32).default("") });
const PAGE = "/account/authenticator";
const TITLE = "Replace your authenticator app";

/** /account/authenticator: prove the factor held, then set up the new app (see authenticator-replacement.ts). */
export function authenticatorRouter(deps: Deps): Router {
  const router = Router();
  const forms = express.urlencoded({ extended: false, limit: "4kb", parameterLimit: 10 });
  const guard = (req: Request) => deps.csrf.verify(req, deps.cookies.readBrowserId(req));
  const codeOf = (req: Request) => {
    const form = codeForm.safeParse(req.body ?? {});
    return form.success ? form.data.code : "";
  };
  const requesterOf = (res: Response): Requester => {
    const session = res.locals.session!;
    return { sessionId: session.id, userId: session.userId, tenantId: session.tenantId, ip: res.locals.context.ip, requestId: res.locals.context.requestId };
  };

  async function render(req: Request, res: Response, error?: string, status = 200): Promise<void> {
    const { enrolled, setup } = await deps.replacement.pending(requesterOf(res));
    const csrfToken = deps.csrf.tokenFor(deps.cookies.ensureBrowserId(req, res));
    if (!enrolled) {
      deps.views.render(res, "message", { title: TITLE, message: "Your account has no authenticator app to replace.", link: { href: "/account", text: "Back to your account" } }, status === 200 ? 400 : status);
      return;
    }
    const qrDataUri = setup ? await totpQrDataUri(setup.uri) : undefined;
    deps.views.render(res, "account-authenticator", { title: TITLE, csrfToken, setup, qrDataUri, error }, status);
  }

  router.get(PAGE, requireBrowserSession, async (req, res) => {
    await render(req, res);
  });

  router.post(`${PAGE}/verify`, forms, requireBrowserSession, async (req, res) => {
    guard(req);
    const result = await deps.replacement.prove(requesterOf(res), codeOf(req));
    switch (result.kind) {
      case "proved":
        res.redirect(303, PAGE);
        return;
      case "throttled":
        res.set("Retry-After", String(result.retryAfterSeconds));
        await render(req, res, `Too many attempts. Try again in ${result.retryAfterSeconds} seconds.`, 429);
        return;
      case "wrong_code":
        await render(req, res, "That code is not valid. Enter the current code from your authenticator app, or one of your recovery codes.", 401);
        return;
      case "no_authenticator":
        await render(req, res, undefined, 400);
    }
  });

  router.post(PAGE, forms, requireBrowserSession, async (req, res) => {
    guard(req);
    const result = await deps.replacement.replace(requesterOf(res), codeOf(req));
    switch (result.kind) {
      case "replaced":
        res.redirect(303, "/account");
        return;
      case "wrong_code":
        await render(req, res, result.reason === "replayed" ? "That code was already used. Wait for the next code from your new app." : "That code is not valid. Check the time on your device and enter the current code from your new app.", 401);
        return;
      case "not_proved":
        await render(req, res, "Your replacement expired or was not started here. Enter a code of your current authenticator app first.", 400);
        return;
      case "no_authenticator":
        await render(req, res, undefined, 400);
    }
  });

  return router;
}
