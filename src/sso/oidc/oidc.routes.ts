import { Router, type Request, type Response } from "express";
import { AppError } from "../../platform/errors";
import { clearCookie, readCookie, setCookie } from "../../platform/http/cookies";
import type { BrowserCookies } from "../../platform/http/browser-cookies";
import type { Logger } from "../../platform/logger";
import { failureReason } from "../sso-errors";
import type { SsoHttp } from "../sso-http";
import type { SsoLoginService } from "../sso-login.service";
import type { CallbackTarget, OidcCallback } from "./oidc-callback";
import { transactionBindingOf } from "./oidc-transaction";

/**
 * The transaction cookie: HttpOnly, SameSite=Lax (sent on the IdP's top-level redirect back to us),
 * and `__Host-` + Secure when PUBLIC_URL is https, as for every cookie of ours (ARCHITECTURE.md, "Cookies").
 */
export function createTransactionCookie(options: { secure: boolean; maxAgeMs: number }) {
  const { secure } = options;
  const name = `${secure ? "__Host-" : ""}gh_oidc_txn`;
  return {
    set: (res: Response, state: string) => setCookie(res, name, transactionBindingOf(state), { secure, maxAgeMs: options.maxAgeMs }),
    read: (req: Request) => readCookie(req, name),
    clear: (res: Response) => clearCookie(res, name, secure),
  };
}

export type TransactionCookie = ReturnType<typeof createTransactionCookie>;

type Deps = { callback: OidcCallback; login: SsoLoginService; http: SsoHttp; cookies: BrowserCookies; transaction: TransactionCookie; logger: Logger };

/** The redirect URI. Success: session cookie and 303 to `return_to`. Any refusal: a 4xx page, never a redirect. */
export function oidcRouter(deps: Deps): Router {
  const router = Router();

  router.get("/sso/:tenant/oidc/callback", async (req, res) => {
    res.set("Cache-Control", "no-store");
    const slug = String(req.params.tenant).toLowerCase();
    let target: CallbackTarget | null = await deps.login.connectionFor(slug, "oidc");
    if (!target) throw new AppError("not_found", "Single sign-on is not available for this account.");
    const params = new URLSearchParams(req.originalUrl.split("?")[1] ?? "");
    const browser = { browserId: deps.cookies.readBrowserId(req), transaction: deps.transaction.read(req) };
    // One callback per transaction, whatever its outcome.
    deps.transaction.clear(res);
    try {
      const opened = await deps.callback.open(target, params, browser);
      target = opened;
      const auth = await deps.callback.exchange(opened, params);
      await deps.http.finish(res, { tenant: opened.tenant, connection: opened.connection, auth, returnTo: opened.flow.returnTo });
    } catch (error) {
      // The reason, the library's message and the IdP's error code only: never the code, tokens or claims.
      const idpError = /^[\w.-]{1,64}$/.test(params.get("error") ?? "") ? params.get("error") : undefined;
      deps.logger.info({ tenantId: target.tenant.id, connectionId: target.connection.id, reason: failureReason(error), detail: causeMessage(error), idpError }, "oidc callback refused");
      await deps.http.fail(res, error, target);
    }
  });

  return router;
}

function causeMessage(error: unknown): string | undefined {
  const message = (error as { cause?: { message?: unknown } } | undefined)?.cause?.message;
  return typeof message === "string" ? message.slice(0, 200) : undefined;
}
