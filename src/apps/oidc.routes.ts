import type { IncomingMessage, ServerResponse } from "node:http";
import express, { Router, type Request, type Response } from "express";
import type { AccountService } from "../sessions/account.service";
import type { BrowserCookies } from "../platform/http/browser-cookies";
import type { Csrf } from "../platform/http/csrf";
import { contextOf } from "../platform/http/request-context";
import type { Views } from "../platform/http/views";
import type { Logger } from "../platform/logger";
import type { InteractionService } from "./interaction.service";
import type { InteractionResult, OidcInteraction, OidcProvider } from "./oidc-provider-api";
import { continuePage } from "./provider-pages";
import { INTERACTION_PATH, type OpenIdProvider } from "./openid-provider";

type Deps = {
  op: OpenIdProvider;
  interactions: InteractionService;
  account: AccountService;
  cookies: BrowserCookies;
  csrf: Csrf;
  views: Views;
  logger: Logger;
  publicUrl: string;
};

const callbacks = new WeakMap<OidcProvider, (req: IncomingMessage, res: ServerResponse) => Promise<void>>();

/**
 * /oidc: oidc-provider's endpoints, and the interaction pages that make Gatehouse's own login its login step.
 * Mounted after the session cookie is read (res.locals.session), before the page middleware.
 */
export function oidcRouter(deps: Deps): Router {
  const router = Router();
  const { op, interactions, views, csrf, cookies } = deps;
  const publicUrl = new URL(deps.publicUrl);
  const forms = express.urlencoded({ extended: false, limit: "4kb", parameterLimit: 5 });

  // Logout at an app (RP-initiated, confirmed by the user) ends the Gatehouse session it was bound to.
  op.onRpLogout(async ({ gatehouseSessionId, session, response }) => {
    const res = response as Response;
    if (!session || session.id !== gatehouseSessionId) return;
    await deps.account.logout(session, contextOf(res));
    cookies.clearSession(res);
  });

  const expired = (res: Response) =>
    views.render(res, "message", { title: "Sign-in expired", message: "This sign-in has expired or was already completed. Go back to the application and start again." }, 400);

  async function details(req: Request, res: Response): Promise<{ provider: OidcProvider; interaction: OidcInteraction } | null> {
    const provider = await op.provider();
    try {
      const interaction = await provider.interactionDetails(req, res);
      return interaction.uid === req.params.uid ? { provider, interaction } : null;
    } catch (error) {
      // No interaction cookie, or an interaction that expired or already ended; anything else (the store down) is a fault.
      if ((error as { name?: string }).name === "SessionNotFound") return null;
      throw error;
    }
  }

  router.get(`${INTERACTION_PATH}/:uid`, async (req, res) => {
    const found = await details(req, res);
    if (!found) return expired(res);
    const { provider, interaction } = found;
    if (interaction.prompt.name === "login") {
      const step = await interactions.decideLogin(interaction, res.locals.session, contextOf(res).ip);
      if (step.kind === "sign_in") return res.redirect(303, step.location);
      if (step.kind === "refuse") deps.logger.info({ requestId: res.locals.requestId, clientId: interaction.params.client_id, reason: step.result.error_description }, "sign-in to an application refused");
      // Arriving from one of our own pages means a form post (the login) started this chain of redirects.
      if (req.get("sec-fetch-site") === "same-origin") return continueAt(req, res, provider, step.result, false);
      return provider.interactionFinished(req, res, step.result, { mergeWithLastSubmission: false });
    }
    if (interaction.prompt.name === "consent") {
      const app = await interactions.findApplication(interaction.params.client_id);
      return views.render(res, "oidc-consent", {
        title: "Allow access",
        appName: app?.name ?? "An application",
        scopes: interactions.describeConsent(interaction),
        action: `${INTERACTION_PATH}/${interaction.uid}/consent`,
        csrfToken: csrf.tokenFor(cookies.ensureBrowserId(req, res)),
      });
    }
    return expired(res);
  });

  router.post(`${INTERACTION_PATH}/:uid/consent`, forms, async (req, res) => {
    csrf.verify(req, cookies.readBrowserId(req));
    const found = await details(req, res);
    if (!found || found.interaction.prompt.name !== "consent") return expired(res);
    const { provider, interaction } = found;
    // Only the user the provider signed in may answer, from the same live Gatehouse session.
    if (res.locals.session?.userId !== interaction.session?.accountId) return expired(res);
    const allowed = (req.body as Record<string, unknown> | undefined)?.decision === "allow";
    const result = allowed ? await interactions.grantConsent(provider, interaction) : { error: "access_denied", error_description: "the user did not allow access" };
    return continueAt(req, res, provider, result, true);
  });

  /** Finishes the interaction with a page that continues by itself rather than a redirect (see continuePage). */
  async function continueAt(req: Request, res: Response, provider: OidcProvider, result: InteractionResult, merge: boolean): Promise<void> {
    const location = await provider.interactionResult(req, res, result, { mergeWithLastSubmission: merge });
    res.set("Cache-Control", "no-store").type("html").send(continuePage(location));
  }

  // Forms of the provider's own pages post to /oidc and redirect on to apps; its form_post page runs one inline script.
  const formTargets = publicUrl.protocol === "https:" ? "'self' https:" : "'self' https: http:";
  const csp = `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action ${formTargets}; frame-ancestors 'none'; base-uri 'none'`;

  router.use("/oidc", async (req, res) => {
    const provider = await op.provider();
    let callback = callbacks.get(provider);
    if (!callback) callbacks.set(provider, (callback = provider.callback() as (req: IncomingMessage, res: ServerResponse) => Promise<void>));
    res.setHeader("Content-Security-Policy", csp);
    // The provider builds its URLs from the request: present every request as addressed to PUBLIC_URL, from the
    // client address Gatehouse's own proxy rule settled on (provider.proxy makes koa read exactly these).
    req.headers["x-forwarded-proto"] = publicUrl.protocol.slice(0, -1);
    req.headers["x-forwarded-host"] = publicUrl.host;
    req.headers["x-forwarded-for"] = contextOf(res).ip;
    delete req.headers.forwarded;
    await callback(req, res);
  });

  return router;
}
