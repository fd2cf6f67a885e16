import express, { Router, type Request, type Response } from "express";
import { z } from "zod";
import type { RecoveryCodeRegeneration } from "../mfa/recovery-code-regeneration";
import type { RecoveryCodeNotices } from "../mfa/recovery-code-notice";
import type { BrowserCookies } from "../platform/http/browser-cookies";
import type { Csrf } from "../platform/http/csrf";
import { safeReturnTo } from "../platform/http/return-to";
import type { Views } from "../platform/http/views";
import { requireBrowserSession } from "./session.middleware";
import type { AccountService } from "./account.service";
import type { Session } from "./session";

type Deps = {
  account: AccountService;
  recoveryCodes: RecoveryCodeRegeneration;
  cookies: BrowserCookies;
  csrf: Csrf;
  views: Views;
  recoveryNotices: RecoveryCodeNotices;
  /** Where an SSO session continues its logout (the IdP's single-logout URL), or null. */
  idpLogoutUrl?: (session: Session) => Promise<string | null>;
};

const recoveryCodesForm = z.object({ code: z.string().max(32).default(""), end_other_sessions: z.string().max(8).default("") });

/** /account (who am I, my sessions, my recovery codes), revoking sessions, new recovery codes, and logout. */
export function accountRouter(deps: Deps): Router {
  const router = Router();
  const forms = express.urlencoded({ extended: false, limit: "4kb", parameterLimit: 10 });
  const guard = (req: Request) => deps.csrf.verify(req, deps.cookies.readBrowserId(req));
  const csrfToken = (req: Request, res: Response) => deps.csrf.tokenFor(deps.cookies.ensureBrowserId(req, res));

  router.get("/account", requireBrowserSession, async (req, res) => {
    const session = res.locals.session!;
    const recoveryCodes = await deps.recoveryNotices.take(session.id);
    const continueTo = safeReturnTo(req.query.return_to, { fallback: "" });
    if (recoveryCodes) {
      deps.views.render(res, "recovery-codes", { title: "Save your recovery codes", codes: recoveryCodes, continueTo: continueTo || "/account" });
      return;
    }
    await renderAccount(req, res);
  });

  async function renderAccount(req: Request, res: Response, error?: string, status = 200): Promise<void> {
    const session = res.locals.session!;
    const view = await deps.account.describe(session);
    deps.views.render(res, "account", { title: "Your account", csrfToken: csrfToken(req, res), ...view, error }, status);
  }

  // New recovery codes, for a current TOTP code: shown once, on the account page.
  router.post("/account/recovery-codes", forms, requireBrowserSession, async (req, res) => {
    guard(req);
    const session = res.locals.session!;
    const form = recoveryCodesForm.safeParse(req.body ?? {});
    const { ip, requestId } = res.locals.context;
    const requester = { sessionId: session.id, userId: session.userId, tenantId: session.tenantId, ip, requestId };
    const result = await deps.recoveryCodes.regenerate(requester, form.success ? form.data.code : "", { endOtherSessions: form.success && form.data.end_other_sessions === "yes" });
    switch (result.kind) {
      case "regenerated":
        await deps.recoveryNotices.put(session.id, result.codes);
        res.redirect(303, "/account");
        return;
      case "throttled":
        res.set("Retry-After", String(result.retryAfterSeconds));
        await renderAccount(req, res, `Too many attempts. Try again in ${result.retryAfterSeconds} seconds.`, 429);
        return;
      case "wrong_code":
        await renderAccount(req, res, "That code is not valid. Enter the current code from your authenticator app.", 401);
        return;
      case "no_authenticator":
        await renderAccount(req, res, "Your account has no authenticator app, so it has no recovery codes.", 400);
    }
  });

  router.post("/account/sessions/revoke", forms, requireBrowserSession, async (req, res) => {
    guard(req);
    const target = typeof req.body?.session_id === "string" ? req.body.session_id : "";
    await deps.account.revokeOwnSessions(res.locals.session!, target, res.locals.context);
    res.redirect(303, "/account");
  });

  router.post("/logout", forms, async (req, res) => {
    guard(req);
    const session = res.locals.session;
    if (session) await deps.account.logout(session, res.locals.context);
    deps.cookies.clearSession(res);
    // The local session is over either way; an IdP that cannot be reached only loses the second hop.
    const idp = session?.sso && deps.idpLogoutUrl ? await deps.idpLogoutUrl(session).catch(() => null) : null;
    res.redirect(303, idp ?? "/login");
  });

  return router;
}
