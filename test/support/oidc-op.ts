import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { CompactSign, exportJWK, generateKeyPair, type CryptoKey } from "jose";
import Provider, { type Adapter, type AdapterPayload, type InteractionResult, type KoaContext } from "oidc-provider";

/**
 * A real OpenID Provider (oidc-provider, a certified implementation) on 127.0.0.1 for the relying-party
 * tests. Signing keys are made at start-up. Logins are programmatic: the test queues who signs in next
 * (or an error answer), and the interaction page completes itself, so a plain HTTP client that follows
 * Location headers and carries cookies goes through the whole redirect chain. For the negative tests it
 * can forge the ID token it returns (re-signed with its own key, unsigned, signed by a stranger...) and
 * change what its discovery document advertises; everything else is the provider's own behaviour.
 */

export type OpAccount = { sub: string } & Record<string, unknown>;
export type OpLogin = { account: OpAccount; acr?: string; amr?: string[] } | { error: string; description?: string };

/** How a forged ID token is signed: by the OP's key, by nobody (`alg: none`), by another key, or not re-signed at all. */
export type IdTokenForgery = { claims?: Record<string, unknown>; signature?: "op-key" | "none" | "foreign-key" | "original" };

export type TestOp = {
  issuer: string;
  /** Registers a confidential client (client_secret_basic) for exactly this redirect URI. */
  registerClient(redirectUri: string): { clientId: string; clientSecret: string };
  /** Who signs in at the next interaction, or the error the OP answers with instead. */
  loginNext(login: OpLogin): void;
  /** Replaces the ID token of the next token response. */
  forgeNextIdToken(forgery: IdTokenForgery): void;
  /** Fields merged into the discovery document from now on. */
  advertise(fields: Record<string, unknown>): void;
  /** While on, the discovery endpoint answers 503. */
  failDiscovery(on: boolean): void;
  /** Requests seen per path since start-up. */
  count(path: string): number;
  /** The Authorization header of each token request, in order. */
  tokenRequestAuthorizations: (string | undefined)[];
  /** The OP half of a browser: follows redirects from `url` with a fresh cookie jar until they leave the OP; returns that URL. */
  authorize(url: string): Promise<URL>;
  close(): Promise<void>;
};

const DISCOVERY_PATH = "/.well-known/openid-configuration";
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const unb64 = (part: string) => JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;

export async function startTestOp(options: { claimsInIdToken?: boolean } = {}): Promise<TestOp> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const signing = await generateKeyPair("RS256", { extractable: true });
  const stranger = await generateKeyPair("RS256");
  const kid = `op-${randomBytes(4).toString("hex")}`;
  const clients = new Map<string, AdapterPayload>();
  const accounts = new Map<string, OpAccount>();
  const logins: OpLogin[] = [];
  const forgeries: IdTokenForgery[] = [];
  const counts = new Map<string, number>();
  const tokenRequestAuthorizations: (string | undefined)[] = [];
  let advertised: Record<string, unknown> = {};
  let discoveryDown = false;

  const provider = new Provider(issuer, {
    adapter: memoryAdapter(clients),
    jwks: { keys: [{ ...(await exportJWK(signing.privateKey)), kid, alg: "RS256", use: "sig" }] },
    cookies: { keys: [randomBytes(32).toString("hex")] },
    claims: {
      acr: null, amr: null, auth_time: null, sid: null,
      // acr and amr in every ID token, as most IdPs do (oidc-provider otherwise adds them only on request).
      openid: ["sub", "acr", "amr"],
      email: ["email", "email_verified"],
      profile: ["name", "given_name", "family_name", "corp_mail", "corp_first", "corp_last"],
    },
    scopes: ["openid", "email", "profile"],
    // Spec default: in the code flow the profile claims are in the userinfo response only.
    conformIdTokenClaims: !options.claimsInIdToken,
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    // Explicit lifetimes (seconds), which also keeps the provider from printing a notice for each default.
    ttl: { AccessToken: 300, AuthorizationCode: 60, Grant: 600, IdToken: 300, Interaction: 600, Session: 600 },
    findAccount: async (_ctx, sub) => {
      const account = accounts.get(sub);
      return account && { accountId: sub, claims: () => ({ ...account }) };
    },
    // Every client is first-party here: whatever it asks for is granted, no consent page.
    loadExistingGrant: async (ctx) => {
      const grant = new ctx.oidc.provider.Grant({ accountId: ctx.oidc.session?.accountId, clientId: ctx.oidc.client?.clientId });
      grant.addOIDCScope(String(ctx.oidc.params?.scope ?? "openid"));
      await grant.save();
      return grant;
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  });

  provider.use(async (ctx, next) => {
    counts.set(ctx.path, (counts.get(ctx.path) ?? 0) + 1);
    if (ctx.path === DISCOVERY_PATH && discoveryDown) {
      ctx.status = 503;
      ctx.body = "down";
      return;
    }
    if (/^\/interaction\/[\w-]+$/.test(ctx.path) && ctx.method === "GET") {
      await completeInteraction(ctx);
      return;
    }
    if (ctx.path === "/token") tokenRequestAuthorizations.push(ctx.get("authorization") || undefined);
    await next();
    if (ctx.path === DISCOVERY_PATH && ctx.status === 200) ctx.body = { ...(ctx.body as object), ...advertised };
    const forgery = ctx.path === "/token" && ctx.status === 200 ? forgeries.shift() : undefined;
    const body = ctx.body as { id_token?: string } | undefined;
    if (forgery && body?.id_token) body.id_token = await forge(body.id_token, forgery);
  });

  async function completeInteraction(ctx: KoaContext): Promise<void> {
    await provider.interactionDetails(ctx.req, ctx.res);
    const login = logins.shift();
    if (!login) throw new Error("test OP: no login queued (call loginNext first)");
    let result: InteractionResult;
    if ("error" in login) {
      result = { error: login.error, error_description: login.description };
    } else {
      accounts.set(login.account.sub, login.account);
      result = { login: { accountId: login.account.sub, acr: login.acr, amr: login.amr, remember: false } };
    }
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    ctx.redirect(returnTo);
    ctx.status = 303;
  }

  async function forge(idToken: string, forgery: IdTokenForgery): Promise<string> {
    const [headerPart = "", payloadPart = "", signaturePart = ""] = idToken.split(".");
    const payload = { ...unb64(payloadPart), ...forgery.claims };
    for (const [claim, value] of Object.entries(payload)) if (value === undefined) delete payload[claim];
    const sign = (key: CryptoKey) =>
      new CompactSign(Buffer.from(JSON.stringify(payload))).setProtectedHeader({ alg: "RS256", kid }).sign(key);
    switch (forgery.signature ?? "op-key") {
      case "none":
        return `${b64({ alg: "none", typ: "JWT" })}.${b64(payload)}.`;
      case "original":
        return `${headerPart}.${b64(payload)}.${signaturePart}`;
      case "foreign-key":
        return sign(stranger.privateKey);
      default:
        return sign(signing.privateKey);
    }
  }

  server.on("request", provider.callback());

  return {
    issuer,
    registerClient(redirectUri) {
      const clientId = `rp-${randomBytes(6).toString("hex")}`;
      const clientSecret = randomBytes(24).toString("base64url");
      clients.set(clientId, {
        client_id: clientId, client_secret: clientSecret, redirect_uris: [redirectUri],
        response_types: ["code"], grant_types: ["authorization_code"], token_endpoint_auth_method: "client_secret_basic",
      });
      return { clientId, clientSecret };
    },
    loginNext: (login) => void logins.push(login),
    forgeNextIdToken: (forgery) => void forgeries.push(forgery),
    advertise: (fields) => void (advertised = { ...advertised, ...fields }),
    failDiscovery: (on) => void (discoveryDown = on),
    count: (path) => counts.get(path) ?? 0,
    tokenRequestAuthorizations,
    authorize: (url) => followWithinOp(issuer, url),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** The storage oidc-provider needs, in memory; clients come from the test's registrations. */
function memoryAdapter(clients: Map<string, AdapterPayload>): (model: string) => Adapter {
  const store = new Map<string, AdapterPayload>();
  const findWhere = (model: string, match: (payload: AdapterPayload) => boolean) =>
    [...store].find(([key, payload]) => key.startsWith(`${model}:`) && match(payload))?.[1];
  return (model) => {
    const key = (id: string) => `${model}:${id}`;
    return {
      upsert: async (id, payload) => void store.set(key(id), payload),
      find: async (id) => (model === "Client" ? clients.get(id) : store.get(key(id))),
      findByUid: async (uid) => findWhere(model, (payload) => payload.uid === uid),
      findByUserCode: async (userCode) => findWhere(model, (payload) => payload.userCode === userCode),
      consume: async (id) => {
        const payload = store.get(key(id));
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      },
      destroy: async (id) => void store.delete(key(id)),
      revokeByGrantId: async (grantId) => {
        for (const [k, payload] of store) if (payload.grantId === grantId) store.delete(k);
      },
    };
  };
}

/** Follows the OP's redirects (authorization endpoint, interaction, resume) with its cookies, up to the first URL elsewhere. */
async function followWithinOp(issuer: string, start: string): Promise<URL> {
  const origin = new URL(issuer).origin;
  const jar = new Map<string, string>();
  let next = new URL(start);
  for (let hop = 0; hop < 10; hop++) {
    if (next.origin !== origin) return next;
    const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join("; ");
    const res = await fetch(next, { redirect: "manual", headers: cookie ? { cookie } : {} });
    for (const header of res.headers.getSetCookie()) {
      const [pair = ""] = header.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (!value || /expires=Thu, 01 Jan 1970/i.test(header)) jar.delete(name);
      else jar.set(name, value);
    }
    const location = res.headers.get("location");
    if (!location) throw new Error(`test OP answered ${res.status} without a redirect: ${(await res.text()).slice(0, 500)}`);
    next = new URL(location, next);
  }
  throw new Error("test OP: too many redirects");
}
