import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from "jose";
import * as oidc from "openid-client";
import type supertest from "supertest";
import type { Clock } from "../../src/platform/clock";
import { startTestApp, type TestApp } from "./harness";
import { adminApi, CookieBrowser } from "./login-helpers";

/*
 * A product app built on openid-client (a certified relying-party library) against Gatehouse's OpenID provider,
 * all on 127.0.0.1. Gatehouse listens on the port PUBLIC_URL names, because the RP fetches discovery, keys and
 * tokens over HTTP like any app; the app's own server receives back-channel logout tokens.
 */

/** A Gatehouse test app whose PUBLIC_URL is where it really listens (the issuer must be reachable). */
export async function startListeningApp(env: Record<string, string> = {}, clock?: Clock): Promise<TestApp & { publicUrl: string }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const publicUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const t = await startTestApp({ PUBLIC_URL: publicUrl, ...env }, clock);
  server.on("request", t.app);
  return {
    ...t,
    publicUrl,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await t.close();
    },
  };
}

export type RegisteredApp = { id: string; clientId: string; clientSecret: string; redirectUri: string };

export type TestRp = {
  origin: string;
  redirectUri: string;
  /** Logout tokens POSTed to the app's back-channel logout URI, in order of arrival. */
  logoutTokens: string[];
  /** Registers this app at Gatehouse through the admin API (body fields override the defaults). */
  register(t: TestApp, body?: Record<string, unknown>): Promise<RegisteredApp>;
  /** Resolves with the next logout token, or rejects after `ms`. */
  nextLogoutToken(ms?: number): Promise<string>;
  /** The app is down for its next `count` back-channel logouts: answered 503, not recorded. */
  refuseLogouts(count: number): void;
  /** How many back-channel logouts were refused so far. */
  refusedLogouts(): number;
  close(): Promise<void>;
};

export async function startTestRp(): Promise<TestRp> {
  const logoutTokens: string[] = [];
  const waiters: ((token: string) => void)[] = [];
  let toRefuse = 0;
  let refused = 0;
  const server: Server = createServer((req, res) => {
    if (req.method === "POST" && req.url === "/backchannel-logout" && toRefuse > 0) {
      toRefuse -= 1;
      refused += 1;
      req.resume();
      req.on("end", () => res.writeHead(503).end());
      return;
    }
    if (req.method === "POST" && req.url === "/backchannel-logout") {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
      req.on("end", () => {
        const token = new URLSearchParams(body).get("logout_token") ?? "";
        logoutTokens.push(token);
        waiters.shift()?.(token);
        res.writeHead(200).end();
      });
      return;
    }
    res.writeHead(200, { "content-type": "text/plain" }).end("test app");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const redirectUri = `${origin}/callback`;
  let seen = 0;

  return {
    origin,
    redirectUri,
    logoutTokens,
    async register(t, body = {}) {
      const res = await adminApi(t).post("/api/v1/applications").send({
        name: `Test app ${randomBytes(3).toString("hex")}`, redirectUris: [redirectUri], postLogoutRedirectUris: [`${origin}/signed-out`],
        backchannelLogoutUri: `${origin}/backchannel-logout`, ...body,
      });
      if (res.status !== 201) throw new Error(`application not registered: ${res.status} ${res.text}`);
      return { id: res.body.id as string, clientId: res.body.clientId as string, clientSecret: res.body.clientSecret as string, redirectUri };
    },
    nextLogoutToken(ms = 5000) {
      if (logoutTokens.length > seen) return Promise.resolve(logoutTokens[seen++]!);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no back-channel logout token arrived")), ms);
        waiters.push((token) => {
          clearTimeout(timer);
          seen++;
          resolve(token);
        });
      });
    },
    refuseLogouts(count) {
      toRefuse = count;
    },
    refusedLogouts: () => refused,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** openid-client's view of a registered app (plain http is fine on 127.0.0.1 in tests). */
export function rpConfiguration(issuer: string, app: RegisteredApp): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(`${issuer}/oidc`), app.clientId, undefined, oidc.ClientSecretBasic(app.clientSecret), { execute: [oidc.allowInsecureRequests] });
}

export type AuthorizationRequest = { url: URL; verifier: string; state: string; nonce: string };

/** The authorization URL the app sends the browser to: code flow, PKCE S256, state and nonce. */
export async function authorizationRequest(config: oidc.Configuration, app: RegisteredApp, extra: Record<string, string> = {}): Promise<AuthorizationRequest> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: app.redirectUri, scope: "openid email profile", code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256", state, nonce, ...extra,
  });
  return { url, verifier, state, nonce };
}

/**
 * Follows redirects in `browser` while they stay on Gatehouse. Returns the first URL elsewhere (the app's
 * callback) or, when a page answers without a redirect, that response.
 */
export async function followWithinGatehouse(
  browser: CookieBrowser,
  publicUrl: string,
  start: URL | string,
  headers: Record<string, string> = {},
): Promise<{ leftTo?: URL; res?: supertest.Response }> {
  let next = new URL(start, publicUrl);
  for (let hop = 0; hop < 15; hop++) {
    if (next.origin !== new URL(publicUrl).origin) return { leftTo: next };
    let res = await browser.get(next.pathname + next.search, headers);
    // The provider's self-submitting form (form_post): a browser runs its script and posts it.
    const autoForm = /<title>Submitting Callback<\/title>[\s\S]*<form method="post" action="([^"]+)">([\s\S]*?)<\/form>/.exec(res.text ?? "");
    if (res.status === 200 && autoForm) {
      const inputs = Object.fromEntries([...autoForm[2]!.matchAll(/name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
      res = await browser.post(new URL(autoForm[1]!, next).pathname, inputs, { headers, withCsrf: false });
    }
    // A page that moves on by itself (meta refresh), as a browser follows it.
    const refresh = res.status === 200 ? /<meta http-equiv="refresh" content="0;url=([^"]+)">/.exec(res.text ?? "")?.[1] : undefined;
    if (refresh) {
      next = new URL(refresh.replaceAll("&amp;", "&"), next);
      continue;
    }
    const location = res.headers.location as string | undefined;
    if (!location || res.status < 300 || res.status >= 400) return { res };
    next = new URL(location, next);
  }
  throw new Error("too many redirects");
}

/** Verifies a JWT from Gatehouse against its published key set, independently of openid-client. */
export async function verifyWithJwks(publicUrl: string, token: string, audience: string, typ?: string): Promise<JWTPayload> {
  const jwks = createRemoteJWKSet(new URL(`${publicUrl}/oidc/jwks`));
  const { payload } = await jwtVerify(token, jwks, { issuer: `${publicUrl}/oidc`, audience, ...(typ ? { typ } : {}) });
  return payload;
}

export { CookieBrowser };
