import type { ServerResponse } from "node:http";
import type { SecretKey } from "../config/load";
import type { Clock } from "../platform/clock";
import type { Db } from "../platform/db/prisma";
import { deriveKey } from "../platform/keys";
import type { KvStore } from "../platform/kv/kv-store";
import type { Logger } from "../platform/logger";
import type { Session } from "../sessions/session";
import { SLUG } from "../tenants/tenant.schemas";
import { createClientAdapter, GATEHOUSE_CLIENT_METADATA, isFirstParty, type ApplicationsVersion } from "./application-clients";
import type { ApplicationStore } from "./application.store";
import type { AccountStore } from "./account.store";
import { KvOidcAdapter } from "./kv-adapter";
import { oidcErrors, Provider, type OidcConfiguration, type OidcContext, type OidcGrant, type OidcProvider } from "./oidc-provider-api";
import { ID_TOKEN_TTL_SECONDS, type ProviderKeys, type ProviderKeySet } from "./provider-keys";
import { logoutConfirmationPage, providerErrorPage, signedOutPage } from "./provider-pages";
import { applyClientRules } from "./provider-rules";
import { createProviderSessions, gatehouseSessionOf } from "./provider-sessions";
import type { SessionLinkStore } from "./session-link.store";

const DAY_SECONDS = 24 * 60 * 60;
export const SCOPES = ["openid", "email", "profile", "groups"];
export const INTERACTION_PATH = "/oidc/interaction";

type OwnedBy = { clientId?: string };

/** Whether the token was issued to the client asking about it; every client of ours authenticates (no public clients). */
function ownToken(client: OwnedBy, token: OwnedBy): boolean {
  return client.clientId !== undefined && token.clientId === client.clientId;
}

/** Told when a user confirmed RP-initiated logout of the provider session bound to `gatehouseSessionId`. */
export type RpLogoutListener = (ended: { gatehouseSessionId: string; session: Session | undefined; response: ServerResponse }) => Promise<void>;

export type OpenIdProviderDeps = {
  db: Db;
  kv: KvStore;
  clock: Clock;
  logger: Logger;
  publicUrl: string;
  secureCookies: boolean;
  secretKeys: readonly SecretKey[];
  applications: ApplicationStore;
  versions: ApplicationsVersion;
  accounts: AccountStore;
  keys: ProviderKeys;
  links: SessionLinkStore;
  findSession(publicId: string): Promise<Session | null>;
};

/**
 * The OpenID Provider for product apps (oidc-provider, mounted at /oidc). The provider instance is rebuilt when
 * the published key set changes (rotation, a key reaching its activation time or leaving the set): keys are
 * fixed at construction, and everything else it holds lives in the KV store, so a rebuild loses nothing.
 */
export function createOpenIdProvider(deps: OpenIdProviderDeps) {
  const { db, kv, clock, logger } = deps;
  const issuer = `${deps.publicUrl}/oidc`;
  const sessions = createProviderSessions({ db, clock, accounts: deps.accounts, links: deps.links, findSession: deps.findSession });
  const clients = createClientAdapter(db, deps.applications, deps.versions);
  // Each secret key signs the provider's cookies in turn: the first signs, all verify (rotation of SECRET_KEYS).
  const cookiePrefix = deps.secureCookies ? "__Secure-" : "";
  const cookieKeys = deps.secretKeys.map((key) => deriveKey(key, "oidc-provider-cookies").toString("base64url"));
  const rpLogoutListeners: RpLogoutListener[] = [];

  let current: { provider: OidcProvider; version: string } | null = null;
  let checkedAt = Number.NEGATIVE_INFINITY;
  let refreshing: Promise<OidcProvider> | null = null;

  function configuration(keySet: ProviderKeySet): OidcConfiguration {
    return {
      adapter: (model: string) => (model === "Client" ? clients : new KvOidcAdapter(kv, model)),
      jwks: keySet.jwks,
      findAccount: sessions.findAccount,
      cookies: {
        keys: cookieKeys,
        // Over https: the __Secure- prefix (the browser keeps them only with Secure). Not __Host-, which needs
        // Path=/: oidc-provider scopes its interaction and resume cookies to their own paths.
        names: { session: `${cookiePrefix}gh_oidc_session`, interaction: `${cookiePrefix}gh_oidc_interaction`, resume: `${cookiePrefix}gh_oidc_resume` },
        long: { httpOnly: true, sameSite: "lax" },
        short: { httpOnly: true, sameSite: "lax" },
      },
      scopes: SCOPES,
      // acr, amr and auth_time in every ID token; with conformIdTokenClaims off the ID token also carries
      // the claims of the scopes requested (email, name), so an app need not call userinfo.
      // `groups`: the IdP's groups of an SSO sign-in (none for a local one).
      claims: { openid: ["sub", "tenant", "region", "acr", "amr", "auth_time"], email: ["email"], profile: ["name"], groups: ["groups"] },
      conformIdTokenClaims: false,
      acrValues: ["aal1", "aal2"],
      // `tenant`: the app names the organisation to sign in with (its slug), as /login?tenant= does.
      extraParams: {
        tenant: async (_ctx: OidcContext, value: unknown) => {
          if (value !== undefined && (typeof value !== "string" || !SLUG.test(value))) throw new oidcErrors.InvalidRequest("tenant must be a tenant slug");
        },
      },
      responseTypes: ["code"],
      clientAuthMethods: ["client_secret_basic", "client_secret_post"],
      allowOmittingSingleRegisteredRedirectUri: false,
      pkce: { required: () => true },
      extraClientMetadata: { properties: GATEHOUSE_CLIENT_METADATA },
      features: {
        devInteractions: { enabled: false },
        backchannelLogout: { enabled: true },
        rpInitiatedLogout: {
          enabled: true,
          logoutSource: async (ctx: OidcContext, form: string) => {
            ctx.type = "html";
            ctx.body = logoutConfirmationPage(form, ctx.oidc.client?.clientName);
          },
          postLogoutSuccessSource: async (ctx: OidcContext) => {
            ctx.type = "html";
            ctx.body = signedOutPage();
          },
        },
        // Both only for the app's own tokens: an app's backend may check or revoke what its front end holds,
        // never another app's: a token of another app is answered as inactive, and a request to revoke one is ignored.
        revocation: { enabled: true, allowedPolicy: async (_ctx: OidcContext, client: OwnedBy, token: OwnedBy) => ownToken(client, token) },
        introspection: { enabled: true, allowedPolicy: async (_ctx: OidcContext, client: OwnedBy, token: OwnedBy) => ownToken(client, token) },
        userinfo: { enabled: true },
        resourceIndicators: { enabled: false },
        pushedAuthorizationRequests: { enabled: false },
        claimsParameter: { enabled: false },
      },
      // Every code and token lives only as long as the provider session, itself bound to the Gatehouse session.
      expiresWithSession: async () => true,
      issueRefreshToken: async (_ctx: OidcContext, client: { grantTypeAllowed(type: string): boolean }) => client.grantTypeAllowed("refresh_token"),
      // A refresh token is single-use: presenting a used one again revokes the whole grant (theft detection).
      rotateRefreshToken: true,
      loadExistingGrant,
      interactions: { url: (_ctx: OidcContext, interaction: { uid: string }) => `${INTERACTION_PATH}/${interaction.uid}`, policy: sessions.interactionPolicy() },
      renderError: async (ctx: OidcContext, out: Record<string, unknown>) => {
        ctx.type = "html";
        ctx.body = providerErrorPage(out);
      },
      ttl: {
        AccessToken: 10 * 60,
        AuthorizationCode: 60,
        IdToken: ID_TOKEN_TTL_SECONDS,
        Interaction: 60 * 60,
        Grant: 30 * DAY_SECONDS,
        RefreshToken: 30 * DAY_SECONDS,
        Session: (ctx: OidcContext, session: { exp?: number }) => sessions.sessionTtlSeconds(ctx, session),
        ClientCredentials: 10 * 60,
        DeviceCode: 10 * 60,
        BackchannelAuthenticationRequest: 10 * 60,
        PreAuthorizedCode: 10 * 60,
      },
    };
  }

  /** First-party apps skip consent: their grant covers whatever OpenID scopes they ask for. */
  async function loadExistingGrant(ctx: OidcContext): Promise<OidcGrant | undefined> {
    const { client, session, provider } = ctx.oidc;
    if (!client || !session?.accountId) return undefined;
    const grantId = ctx.oidc.result?.consent?.grantId ?? session.authorizations?.[client.clientId]?.grantId;
    const existing = grantId ? await provider.Grant.find(grantId) : undefined;
    if (!isFirstParty(client)) return existing;
    const grant = existing ?? new provider.Grant({ accountId: session.accountId, clientId: client.clientId });
    grant.addOIDCScope([...ctx.oidc.requestParamOIDCScopes].join(" "));
    await grant.save();
    return grant;
  }

  function build(keySet: ProviderKeySet): OidcProvider {
    const provider = new Provider(issuer, configuration(keySet));
    applyClientRules(provider);
    // oidc-provider builds its URLs from the request: the routes layer presents every request as addressed to
    // PUBLIC_URL (see forwardToProvider), so this only makes koa read those headers.
    provider.proxy = true;
    provider.on("server_error", (_ctx: unknown, error: unknown) => logger.error({ err: error }, "OpenID provider error"));
    provider.on("backchannel.error", (_ctx: unknown, error: unknown, client: unknown) =>
      logger.warn({ err: error instanceof Error ? error.message : String(error), clientId: (client as { clientId?: string })?.clientId }, "back-channel logout not delivered"),
    );
    provider.use(async (ctx, next) => {
      try {
        await next();
      } finally {
        // The metrics label: the provider's route name, never the raw path (it may carry an interaction id).
        if (ctx.res.locals) ctx.res.locals.routeTemplate = `/oidc (${ctx.oidc?.route ?? "unmatched"})`;
      }
      if (ctx.oidc?.route === "end_session_confirm" && ctx.oidc.params?.logout && ctx.oidc.session) await endGatehouseSession(ctx, ctx.oidc.session.uid);
    });
    return provider;
  }

  /** RP-initiated logout, confirmed by the user, also ends the Gatehouse session the provider session was bound to. */
  async function endGatehouseSession(ctx: OidcContext, providerSessionUid: string): Promise<void> {
    const gatehouseSessionId = await deps.links.gatehouseSessionOf(providerSessionUid);
    if (!gatehouseSessionId) return;
    for (const listener of rpLogoutListeners) await listener({ gatehouseSessionId, session: gatehouseSessionOf(ctx), response: ctx.res });
  }

  async function refresh(): Promise<OidcProvider> {
    const keySet = await deps.keys.current();
    if (!current || current.version !== keySet.version) {
      current = { provider: build(keySet), version: keySet.version };
      logger.info({ signingKeyId: keySet.signingKeyId }, "OpenID provider built with the current key set");
    }
    checkedAt = clock.now().getTime();
    return current.provider;
  }

  return {
    issuer,

    /** The provider with the current key set; re-reads the keys at most every `refreshMs`. */
    provider(): Promise<OidcProvider> {
      if (current && clock.now().getTime() - checkedAt < deps.keys.schedule.refreshMs) return Promise.resolve(current.provider);
      // A failed read (database down) is not remembered: the next request tries again.
      refreshing ??= refresh().finally(() => {
        refreshing = null;
      });
      return refreshing;
    },

    /** Makes the next request re-read the key set (after a rotation on this instance). */
    reloadKeys(): void {
      checkedAt = Number.NEGATIVE_INFINITY;
    },

    onRpLogout(listener: RpLogoutListener): void {
      rpLogoutListeners.push(listener);
    },
  };
}

export type OpenIdProvider = ReturnType<typeof createOpenIdProvider>;
