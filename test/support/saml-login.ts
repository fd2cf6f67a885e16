import supertest from "supertest";
import { startTestApp, uniqueSlug, type TestApp } from "./harness";
import { setCookiesOf } from "./login-helpers";
import { TestSamlIdp, type PostedResponse, type RespondOptions } from "./saml-idp";

/** A tenant with SSO on through one SAML connection to a test IdP, and the SP metadata it publishes. */
export type SamlTenant = { slug: string; tenantId: string; connectionId: string; idp: TestSamlIdp; spMetadata: string };

export type SamlTenantOptions = {
  idp?: TestSamlIdp;
  slug?: string;
  allowIdpInitiated?: boolean;
  provisioning?: "jit" | "pre-provisioned";
  emailDomains?: string[];
  attributeMapping?: Record<string, string>;
  /** Contexts asked of the IdP on step-up (the connection's `stepUpContexts`). */
  stepUpContexts?: string[];
};

/** An in-process test app, or a running service's base URL (both answer supertest), with its admin token. */
export type SamlTarget = { app: TestApp["app"] | string; adminToken: string };

const admin = (t: SamlTarget) => {
  const as = (req: supertest.Test) => req.set("Authorization", `Bearer ${t.adminToken}`);
  return { post: (url: string) => as(supertest(t.app).post(url)), put: (url: string) => as(supertest(t.app).put(url)) };
};

async function expectStatus(req: supertest.Test, status: number, what: string): Promise<supertest.Response> {
  const res = await req;
  if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status} ${res.text}`);
  return res;
}

/** Creates the tenant (unless it exists: pass `slug`), the SAML connection, and switches SSO on. */
export async function setUpSamlTenant(t: SamlTarget, options: SamlTenantOptions = {}): Promise<SamlTenant> {
  const idp = options.idp ?? new TestSamlIdp();
  const slug = options.slug ?? uniqueSlug("saml");
  const tenant = await expectStatus(admin(t).post("/api/v1/tenants").send({ slug, name: `SAML ${slug}`, region: "us", mfaRequired: false, emailDomains: options.emailDomains }), 201, "tenant");
  const connection = await expectStatus(admin(t).post(`/api/v1/tenants/${slug}/sso-connections`).send({
    type: "saml", idpEntityId: idp.entityId, ssoUrl: idp.ssoUrl, sloUrl: idp.sloUrl, certificates: [idp.certificate],
    allowIdpInitiated: options.allowIdpInitiated ?? false, provisioning: options.provisioning ?? "pre-provisioned", attributeMapping: options.attributeMapping,
    stepUpContexts: options.stepUpContexts,
  }), 201, "SAML connection");
  await expectStatus(admin(t).put(`/api/v1/tenants/${slug}/sso`).send({ enabled: true, enforced: false }), 200, "SSO toggle");
  const metadata = await expectStatus(supertest(t.app).get(`/sso/${slug}/saml/metadata`), 200, "SP metadata");
  return { slug, tenantId: tenant.body.id, connectionId: connection.body.id, idp, spMetadata: metadata.text };
}

/**
 * Adds another SAML connection, to another IdP, to a tenant made by setUpSamlTenant: the same tenant and SP
 * metadata, so the result can be used wherever a SamlTenant is.
 */
export async function addSamlConnection(t: SamlTarget, tenant: SamlTenant, options: Pick<SamlTenantOptions, "idp" | "allowIdpInitiated" | "provisioning"> = {}): Promise<SamlTenant> {
  const idp = options.idp ?? new TestSamlIdp();
  const connection = await expectStatus(admin(t).post(`/api/v1/tenants/${tenant.slug}/sso-connections`).send({
    type: "saml", idpEntityId: idp.entityId, ssoUrl: idp.ssoUrl, sloUrl: idp.sloUrl, certificates: [idp.certificate],
    allowIdpInitiated: options.allowIdpInitiated ?? false, provisioning: options.provisioning ?? "pre-provisioned",
  }), 201, "second SAML connection");
  return { ...tenant, connectionId: connection.body.id, idp };
}

/** GET /sso/{tenant}/start: the IdP URL carrying the signed AuthnRequest. */
export async function startSamlLogin(t: SamlTarget, slug: string, returnTo = "/account"): Promise<string> {
  const res = await supertest(t.app).get(`/sso/${slug}/start`).query({ return_to: returnTo });
  if (res.status !== 303) throw new Error(`start: expected 303, got ${res.status} ${res.text}`);
  return String(res.headers.location);
}

/** The IdP's answer to a fresh SP-initiated login of this tenant. */
export async function idpAnswer(t: SamlTarget, tenant: SamlTenant, options: RespondOptions, returnTo?: string): Promise<PostedResponse> {
  const location = await startSamlLogin(t, tenant.slug, returnTo);
  const { SAMLResponse, RelayState } = await tenant.idp.answer(location, tenant.spMetadata, options);
  return { SAMLResponse, RelayState };
}

/**
 * The browser's cross-site POST to the ACS: no cookies of ours come with it (SameSite=Lax), so none are
 * sent here either. Accept: text/html as a browser sends.
 */
export function postToAcs(t: SamlTarget, slug: string, form: PostedResponse | Record<string, string>): supertest.Test {
  return supertest(t.app).post(`/sso/${slug}/saml/acs`).type("form").set("Accept", "text/html").send(form);
}

/** The session cookie a response set, as a Cookie header value; undefined when it set none. */
export function sessionCookieOf(res: supertest.Response): string | undefined {
  const cookie = setCookiesOf(res).find((c) => c.name.endsWith("gh_session") && c.value !== "");
  return cookie ? `${cookie.name}=${cookie.value}` : undefined;
}

/** What an attacker must not have achieved: users, linked identities and sessions of the tenant. */
export async function footprint(t: TestApp, tenant: Pick<SamlTenant, "tenantId" | "connectionId">): Promise<{ users: number; identities: number }> {
  const db = t.container.infra.db;
  const [users, identities] = await Promise.all([
    db.user.count({ where: { tenantId: tenant.tenantId } }),
    db.externalIdentity.count({ where: { connectionId: tenant.connectionId } }),
  ]);
  return { users, identities };
}

/**
 * What every refused response must look like: a 4xx page (never a redirect), no session cookie, and
 * no user or linked identity created.
 */
export async function expectRefused(t: TestApp, tenant: Pick<SamlTenant, "tenantId" | "connectionId">, res: supertest.Response, before: { users: number; identities: number }): Promise<void> {
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  expect(res.headers.location).toBeUndefined();
  expect(sessionCookieOf(res)).toBeUndefined();
  expect(await footprint(t, tenant)).toEqual(before);
}

/** The tenant's refused logout messages as audited (`sso.logout.failed`), oldest first. */
export async function logoutRefusals(t: TestApp, tenantId: string) {
  const rows = await t.container.infra.db.auditEvent.findMany({ where: { tenantId, type: "sso.logout.failed" }, orderBy: { id: "asc" } });
  return rows.map((row) => ({ actorType: row.actorType, target: { type: row.targetType, id: row.targetId }, data: row.data as Record<string, unknown> }));
}

/** The reasons recorded for the tenant's refused SSO logins, oldest first. */
export async function failureReasons(t: TestApp, tenantId: string): Promise<string[]> {
  const rows = await t.container.infra.db.auditEvent.findMany({ where: { tenantId, type: "sso.login.failed" }, orderBy: { id: "asc" } });
  return rows.map((row) => String((row.data as { reason?: string }).reason));
}

/**
 * For the refusal tests: registers hooks that start a test app with one SAML tenant provisioning just in
 * time (an accepted response would show up as a new user), hand both to `use`, and close the app after.
 */
export function withJitSamlTenant(use: (t: TestApp, tenant: SamlTenant) => void): void {
  let app: TestApp | undefined;
  beforeAll(async () => {
    const started = await startTestApp();
    app = started;
    use(started, await setUpSamlTenant(started, { provisioning: "jit" }));
  });
  afterAll(() => app?.close());
}
