import type { Response } from "express";
import { isAppError } from "../platform/errors";
import type { BrowserCookies } from "../platform/http/browser-cookies";
import { contextOf } from "../platform/http/request-context";
import type { Views } from "../platform/http/views";
import type { TenantRow } from "../tenants/tenant.store";
import type { SsoConnectionRow } from "./connection.store";
import { failureReason } from "./sso-errors";
import type { SsoAuthentication, SsoClient, SsoLoginService } from "./sso-login.service";

type Deps = { login: SsoLoginService; cookies: BrowserCookies; views: Views; regionUrls: Readonly<Record<string, string>> };

/**
 * The browser side shared by the SAML and OIDC endpoints: a verified answer becomes a session cookie
 * and a 303 to `return_to`; any refusal is recorded and shown as a 4xx page, never a redirect.
 */
export function createSsoHttp(deps: Deps) {
  const clientOf = (res: Response): SsoClient => {
    const ctx = contextOf(res);
    return { ip: ctx.ip, userAgent: ctx.userAgent, requestId: ctx.requestId };
  };

  return {
    clientOf,

    async finish(res: Response, login: { tenant: TenantRow; connection: SsoConnectionRow; auth: SsoAuthentication; returnTo: string }): Promise<void> {
      // The IdP's POST is cross-site: the browser-id cookie may be missing (SameSite=Lax), so one is made.
      const browserId = deps.cookies.ensureBrowserId(res.req, res);
      const done = await deps.login.complete({ ...login, returnTo: login.returnTo || "/account", browserId, client: clientOf(res) });
      res.set("Cache-Control", "no-store");
      if (done.kind === "second_factor") {
        deps.cookies.setPending(res, done.pendingToken);
        res.redirect(303, done.location);
        return;
      }
      deps.cookies.setSession(res, done.sessionToken);
      res.redirect(303, login.returnTo || "/account");
    },

    /**
     * Records why a login failed (for IdP health) and renders the refusal. While the connection keeps
     * failing, the page also names the tenant's break-glass URL: only accounts on the bypass list get in there.
     */
    async fail(res: Response, error: unknown, where: { tenant: TenantRow; connection: SsoConnectionRow }): Promise<void> {
      if (!isAppError(error) || error.status >= 500) throw error;
      await deps.login.recordFailure({ tenantId: where.tenant.id, connectionId: where.connection.id, protocol: where.connection.type, reason: failureReason(error), client: clientOf(res) });
      const failing = await deps.login.isFailing(where.connection.id);
      const region = where.tenant.region;
      const bypass = failing && deps.regionUrls[region]
        ? { href: `${deps.regionUrls[region]}/${region}/login?tenant=${encodeURIComponent(where.tenant.slug)}`, text: "Break-glass sign-in (only for accounts on your organisation's bypass list)" }
        : undefined;
      deps.views.render(res, "message", {
        title: "Single sign-on failed",
        message: failing ? `${error.message} Sign-in through your identity provider is failing repeatedly at the moment.` : error.message,
        link: bypass ?? { href: `/sso/${encodeURIComponent(where.tenant.slug)}/start`, text: "Try again" },
      }, error.status);
    },
  };
}

export type SsoHttp = ReturnType<typeof createSsoHttp>;
