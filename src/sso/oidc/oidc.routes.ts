import { Router, type Request, type Response } from "express";
import { AppError } from "../../platform/errors";
import { clearCookie, readCookie, setCookie } from "../../platform/http/cookies";
import type { BrowserCookies } from "../../platform/http/browser-cookies";
import type { Logger } from "../../platform/logger";
import { failureReason, stepUpFallback } from "../sso-errors";
import type { RestartWithoutStepUp } from "../sso.routes";
import type { SsoHttp } from "../sso-http";
import type { SsoLoginService } from "../sso-login.service";
import { callbackState, type CallbackTarget, type OidcCallback, type OpenedCallback } from "./oidc-callback";
import { holdsTransaction, parseTransactions, serializeTransactions, withoutTransaction, withTransaction } from "./oidc-transaction";

/**
 * The transaction cookie: the bindings of this browser's authorization requests in flight, one per tab
 * that began a login (capped, the oldest drop), so that each callback finds its own. HttpOnly,
 * SameSite=Lax (sent on the IdP's top-level redirect back to us), and `__Host-` + Secure when PUBLIC_URL
 * is https, as for every cookie of ours (ARCHITECTURE.md, "Cookies"). A cookie cannot be updated
 * atomically: of two requests that change it in the same instant, the later answer's list wins and the
 * other tab's login is refused (the user starts it again).
 */
export function createTransactionCookie(options: { secure: boolean; maxAgeMs: number }) {
  const { secure } = options;
  const name = `${secure ? "__Host-" : ""}gh_oidc_txn`;
  const read = (req: Request) => parseTransactions(readCookie(req, name));
  const write = (res: Response, bindings: readonly string[]) => {
    if (bindings.length === 0) clearCookie(res, name, secure);
    else setCookie(res, name, serializeTransactions(bindings), { secure, maxAgeMs: options.maxAgeMs });
  };
  return {
    read,
    /** A new flow began in this browser; the ones begun before stay bound. */
    add: (req: Request, res: Response, state: string) => write(res, withTransaction(read(req), state)),
    /**
     * One callback per flow, whatever its outcome: its binding goes, the other tabs' stay. A callback
     * whose binding this browser does not hold leaves the cookie alone (a planted callback URL must not
     * cancel the victim's own logins).
     */
    release(req: Request, res: Response, state: string | undefined) {
      const bindings = read(req);
      if (state === undefined || !holdsTransaction(bindings, state)) return;
      write(res, withoutTransaction(bindings, state));
    },
  };
}

export type TransactionCookie = ReturnType<typeof createTransactionCookie>;

type Deps = {
  callback: OidcCallback; login: SsoLoginService; http: SsoHttp; cookies: BrowserCookies; transaction: TransactionCookie; logger: Logger;
  restartWithoutStepUp: RestartWithoutStepUp;
};

/** The redirect URI. Success: session cookie and 303 to `return_to`. Any refusal: a 4xx page, never a redirect. */
export function oidcRouter(deps: Deps): Router {
  const router = Router();

  router.get("/sso/:tenant/oidc/callback", async (req, res) => {
    res.set("Cache-Control", "no-store");
    const slug = String(req.params.tenant).toLowerCase();
    let target: CallbackTarget | null = await deps.login.connectionFor(slug, "oidc");
    if (!target) throw new AppError("not_found", "Single sign-on is not available for this account.");
    const params = new URLSearchParams(req.originalUrl.split("?")[1] ?? "");
    const browser = { browserId: deps.cookies.readBrowserId(req), transactions: deps.transaction.read(req) };
    deps.transaction.release(req, res, callbackState(params));
    let opened: OpenedCallback | undefined;
    try {
      opened = await deps.callback.open(target, params, browser);
      target = opened;
      const auth = await deps.callback.exchange(opened, params);
      await deps.http.finish(res, { tenant: opened.tenant, connection: opened.connection, auth, returnTo: opened.flow.returnTo });
    } catch (error) {
      // The flow checked out (state, this browser); only then may the IdP's refusal start the login over.
      if (opened && stepUpFallback(error, opened.flow.authnContexts)) {
        await deps.restartWithoutStepUp({ tenant: opened.tenant, connection: opened.connection, returnTo: opened.flow.returnTo, req, res });
        return;
      }
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
