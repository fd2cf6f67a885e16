import supertest from "supertest";
import type { TestApp } from "./harness";
import { adminApi, CookieBrowser, createTenant, setCookiesOf } from "./login-helpers";
import type { OpLogin, TestOp } from "./oidc-op";

/** PUBLIC_URL of the test apps of the OIDC tests: redirect URIs registered at the test OP derive from it. */
export const GATEHOUSE_URL = "http://gatehouse.test";

export type OidcTenant = { slug: string; tenantId: string; connectionId: string; clientId: string; clientSecret: string };

/**
 * A tenant with SSO on through an OIDC connection to `op`, made through the admin API as support staff
 * would (discovery is checked on save); the client is registered at the OP for the tenant's redirect URI.
 */
export async function oidcTenant(
  t: TestApp,
  op: TestOp,
  options: { provisioning?: "jit" | "pre-provisioned"; claimMapping?: Record<string, string>; tenant?: Record<string, unknown> } = {},
): Promise<OidcTenant> {
  const slug = await createTenant(t, { mfaRequired: false, ...options.tenant });
  const { clientId, clientSecret } = op.registerClient(`${GATEHOUSE_URL}/sso/${slug}/oidc/callback`);
  const created = await adminApi(t).post(`/api/v1/tenants/${slug}/sso-connections`).send({
    type: "oidc", issuer: op.issuer, clientId, clientSecret, provisioning: options.provisioning ?? "pre-provisioned",
    ...(options.claimMapping ? { claimMapping: options.claimMapping } : {}),
  });
  if (created.status !== 201) throw new Error(`connection not created: ${created.status} ${created.text}`);
  const toggled = await supertest(t.app).put(`/api/v1/tenants/${slug}/sso`).set("Authorization", `Bearer ${t.adminToken}`).send({ enabled: true, enforced: false });
  if (toggled.status !== 200) throw new Error(`SSO not enabled: ${toggled.status} ${toggled.text}`);
  const tenant = await t.container.infra.db.tenant.findUniqueOrThrow({ where: { slug } });
  return { slug, tenantId: tenant.id, connectionId: created.body.id as string, clientId, clientSecret };
}

/** `/sso/{slug}/start` in `browser`; the 303's Location is the OP's authorization URL. */
export async function startSso(browser: CookieBrowser, slug: string, returnTo = "/account"): Promise<{ res: supertest.Response; authorizationUrl: URL }> {
  const res = await browser.get(`/sso/${slug}/start?return_to=${encodeURIComponent(returnTo)}`);
  if (res.status !== 303) throw new Error(`start: ${res.status} ${res.text}`);
  return { res, authorizationUrl: new URL(String(res.headers.location)) };
}

/** Start in `browser`, sign in at the OP as `login`: the callback URL the OP sends the browser back to (not yet followed). */
export async function callbackFor(op: TestOp, browser: CookieBrowser, slug: string, login: OpLogin, returnTo?: string): Promise<URL> {
  const { authorizationUrl } = await startSso(browser, slug, returnTo);
  op.loginNext(login);
  const callback = await op.authorize(authorizationUrl.href);
  if (callback.origin !== GATEHOUSE_URL) throw new Error(`OP sent the browser to ${callback.origin}`);
  return callback;
}

/** Delivers a callback URL to Gatehouse in `browser`. */
export const deliver = (browser: CookieBrowser, callback: URL) => browser.get(callback.pathname + callback.search);

/** The whole login: start, OP, callback. */
export async function oidcLogin(t: TestApp, op: TestOp, slug: string, login: OpLogin, options: { browser?: CookieBrowser; returnTo?: string } = {}) {
  const browser = options.browser ?? new CookieBrowser(t.app);
  const callback = await callbackFor(op, browser, slug, login, options.returnTo);
  return { browser, callback, res: await deliver(browser, callback) };
}

export const sessionCookieOf = (res: supertest.Response) => setCookiesOf(res).find((cookie) => cookie.name.endsWith("gh_session") && cookie.value !== "");

export const userCount = (t: TestApp, tenantId: string) => t.container.infra.db.user.count({ where: { tenantId } });

/** The `sso.login.failed` reasons recorded for a tenant, oldest first. */
export async function failureReasons(t: TestApp, tenantId: string): Promise<string[]> {
  const rows = await t.container.infra.db.auditEvent.findMany({ where: { tenantId, type: "sso.login.failed" }, orderBy: { id: "asc" } });
  return rows.map((row) => String((row.data as { reason?: unknown }).reason));
}

/** What a refused callback must look like from outside: a 4xx page, no redirect, no session, no user, the reason audited. */
export async function outcomeOf(t: TestApp, tenant: OidcTenant, res: supertest.Response) {
  return {
    status: res.status,
    redirect: res.headers.location as string | undefined,
    session: sessionCookieOf(res) !== undefined,
    users: await userCount(t, tenant.tenantId),
    reasons: await failureReasons(t, tenant.tenantId),
  };
}

export const refused = (status: number, reason: string) => ({ status, redirect: undefined, session: false, users: 0, reasons: [reason] });
