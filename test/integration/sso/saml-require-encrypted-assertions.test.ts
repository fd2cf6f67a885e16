// Support staff can require a SAML connection's IdP to encrypt its assertions (requireEncryptedAssertions, as
// Okta, Auth0 and Keycloak offer): set on create or PATCH, audited, shown in the connection; with it on, a plain
// assertion is refused (assertion_not_encrypted) and counted in the connection's health; off, both log in.
import supertest from "supertest";
import { startTestApp, uniqueSlug, type TestApp } from "../../support/harness";
import { decodeResponse } from "../../support/saml-idp";
import {
  addSamlConnection, expectRefused, footprint, idpAnswer, postToAcs, sessionCookieOf, setUpSamlTenant, type SamlTenant,
} from "../../support/saml-login";
import { makeCertificates, startDiscoveryServer } from "./fixtures";

let t: TestApp;
let certs: ReturnType<typeof makeCertificates>;
let discovery: Awaited<ReturnType<typeof startDiscoveryServer>>;

beforeAll(async () => {
  certs = makeCertificates();
  discovery = await startDiscoveryServer();
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
  await discovery.close();
});

const connectionsUrl = (slug: string) => `/api/v1/tenants/${slug}/sso-connections`;
const connectionUrl = (tenant: Pick<SamlTenant, "slug" | "connectionId">) => `${connectionsUrl(tenant.slug)}/${tenant.connectionId}`;

async function newTenant(): Promise<string> {
  const slug = uniqueSlug("enc");
  await t.api().post("/api/v1/tenants").send({ slug, name: "Encrypting Co", region: "us" }).expect(201);
  return slug;
}

const samlFields = (extra: Record<string, unknown> = {}) => ({
  type: "saml", idpEntityId: `https://idp.example/${uniqueSlug("e")}`, ssoUrl: "https://idp.example/sso", certificates: [certs.valid], ...extra,
});

async function setRequired(tenant: SamlTenant, required: boolean): Promise<void> {
  const res = await t.api().patch(connectionUrl(tenant)).send({ requireEncryptedAssertions: required }).expect(200);
  expect(res.body.requireEncryptedAssertions).toBe(required);
}

async function signedInEmail(res: supertest.Response): Promise<string | undefined> {
  const cookie = sessionCookieOf(res);
  if (res.status !== 303 || !cookie) return undefined;
  return (await supertest(t.app).get("/api/v1/session").set("Cookie", cookie)).body.user?.email;
}

async function auditOf(tenantId: string, type: string) {
  return t.container.infra.db.auditEvent.findMany({ where: { tenantId, type }, orderBy: { id: "asc" } });
}

// Both SAML encryption settings (this one, and requireGcmEncryption: see test/security/sso.saml-cbc-padding-oracle.test.ts)
// are stored, shown, audited and refused for OIDC alike.
describe.each(["requireEncryptedAssertions", "requireGcmEncryption"] as const)("the setting %s in the admin API", (field) => {
  it("is false by default, and read back as false", async () => {
    const slug = await newTenant();
    const res = await t.api().post(connectionsUrl(slug)).send(samlFields()).expect(201);
    expect(res.body[field]).toBe(false);
    expect((await t.api().get(`${connectionsUrl(slug)}/${res.body.id}`).expect(200)).body[field]).toBe(false);
    const row = await t.container.infra.db.ssoConnection.findUniqueOrThrow({ where: { id: res.body.id } });
    expect(row[field]).toBe(false);
  });

  it("is set on create, kept across reads and lists, in the created audit event, and stored", async () => {
    const slug = await newTenant();
    const res = await t.api().post(connectionsUrl(slug)).send(samlFields({ [field]: true })).expect(201);
    expect(res.body).toMatchObject({ type: "saml", [field]: true });
    expect((await t.api().get(`${connectionsUrl(slug)}/${res.body.id}`).expect(200)).body[field]).toBe(true);
    expect((await t.api().get(connectionsUrl(slug)).expect(200)).body.items[0][field]).toBe(true);
    const row = await t.container.infra.db.ssoConnection.findUniqueOrThrow({ where: { id: res.body.id } });
    expect(row[field]).toBe(true);
    const [created] = await auditOf(row.tenantId, "sso.connection.created");
    expect(created!.data).toMatchObject({ after: { id: res.body.id, [field]: true } });
  });

  it("is switched with PATCH, each change audited as sso.connection.updated with before and after", async () => {
    const slug = await newTenant();
    const id = (await t.api().post(connectionsUrl(slug)).send(samlFields()).expect(201)).body.id;
    const on = await t.api().patch(`${connectionsUrl(slug)}/${id}`).send({ [field]: true }).expect(200);
    expect(on.body[field]).toBe(true);
    expect((await t.api().get(`${connectionsUrl(slug)}/${id}`).expect(200)).body[field]).toBe(true);
    // Another field changed: the setting stays as it is.
    const other = await t.api().patch(`${connectionsUrl(slug)}/${id}`).send({ allowIdpInitiated: true }).expect(200);
    expect(other.body[field]).toBe(true);
    await t.api().patch(`${connectionsUrl(slug)}/${id}`).send({ [field]: false }).expect(200);
    expect((await t.api().get(`${connectionsUrl(slug)}/${id}`).expect(200)).body[field]).toBe(false);

    const tenantId = (await t.container.infra.db.ssoConnection.findUniqueOrThrow({ where: { id } })).tenantId;
    const updates = (await auditOf(tenantId, "sso.connection.updated")).map((e) => e.data as { before: Record<string, unknown>; after: Record<string, unknown> });
    expect(updates).toHaveLength(3);
    expect(updates[0]).toMatchObject({ before: { [field]: false }, after: { [field]: true } });
    expect(updates[1]!.after).not.toHaveProperty(field);
    expect(updates[2]).toMatchObject({ before: { [field]: true }, after: { [field]: false } });
    // The same value again changes nothing and audits nothing.
    await t.api().patch(`${connectionsUrl(slug)}/${id}`).send({ [field]: false }).expect(200);
    expect(await auditOf(tenantId, "sso.connection.updated")).toHaveLength(3);
  });

  it("refuses a value that is not a boolean", async () => {
    const slug = await newTenant();
    const res = await t.api().post(connectionsUrl(slug)).send(samlFields({ [field]: "yes" }));
    expect(res.body).toMatchObject({ status: 400, code: "validation_failed", errors: [{ path: field }] });
  });

  it("is refused for an OIDC connection, on create and on PATCH, as other SAML-only fields are", async () => {
    const slug = await newTenant();
    const oidc = { type: "oidc", issuer: `${discovery.base}/good`, clientId: "gatehouse", clientSecret: "s3cr3t-value" };
    const create = await t.api().post(connectionsUrl(slug)).send({ ...oidc, [field]: true });
    const sibling = await t.api().post(connectionsUrl(slug)).send({ ...oidc, allowIdpInitiated: true });
    expect(create.body).toMatchObject({ status: 400, code: "validation_failed" });
    // The same refusal as for allowIdpInitiated, naming the field.
    expect(create.body.detail).toContain(field);
    expect(create.body.errors).toHaveLength(sibling.body.errors.length);
    expect((await t.api().get(connectionsUrl(slug)).expect(200)).body.items).toEqual([]);

    const id = (await t.api().post(connectionsUrl(slug)).send(oidc).expect(201)).body.id;
    expect((await t.api().get(`${connectionsUrl(slug)}/${id}`).expect(200)).body).not.toHaveProperty(field);
    const patch = await t.api().patch(`${connectionsUrl(slug)}/${id}`).send({ [field]: true });
    expect(patch.body).toMatchObject({ status: 400, code: "validation_failed", errors: [{ path: field, message: "not a field of a oidc connection" }] });
  });
});

describe("logins with the setting on", () => {
  let tenant: SamlTenant;
  beforeAll(async () => {
    tenant = await setUpSamlTenant(t, { provisioning: "jit" });
    await setRequired(tenant, true);
  });

  it("signs the user in with an encrypted assertion", async () => {
    const form = await idpAnswer(t, tenant, { user: { nameId: "sealed@corp.example" }, encrypt: {} });
    expect(decodeResponse(form.SAMLResponse)).not.toContain("sealed@corp.example");
    const res = await postToAcs(t, tenant.slug, form);
    expect(res.headers.location).toBe("/account");
    expect(await signedInEmail(res)).toBe("sealed@corp.example");
  });

  it("refuses a plain assertion with assertion_not_encrypted: the refusal page, an audit row, a health count", async () => {
    const before = await footprint(t, tenant);
    const failuresBefore = (await auditOf(tenant.tenantId, "sso.login.failed")).length;
    const res = await postToAcs(t, tenant.slug, await idpAnswer(t, tenant, { user: { nameId: "plain@corp.example" } }));
    await expectRefused(t, tenant, res, before);
    expect(res.status).toBe(400);
    expect(res.headers["content-type"]).toMatch(/text\/html/);
    expect(res.text).toContain("Single sign-on failed");
    expect(res.text).toContain("The sign-in response from your identity provider was refused.");
    // The page does not say why: the reason is for the audit trail and the health counts only.
    expect(res.text).not.toContain("assertion_not_encrypted");

    const failures = await auditOf(tenant.tenantId, "sso.login.failed");
    expect(failures).toHaveLength(failuresBefore + 1);
    expect(failures.at(-1)!.data).toMatchObject({ connectionId: tenant.connectionId, reason: "assertion_not_encrypted" });
    const health = (await t.api().get(connectionUrl(tenant)).expect(200)).body.health;
    expect(health.failures.byReason).toMatchObject({ assertion_not_encrypted: 1 });
  });

  it("accepts plain assertions again once the setting is switched off", async () => {
    const other = await setUpSamlTenant(t, { provisioning: "jit" });
    await setRequired(other, true);
    const refused = await postToAcs(t, other.slug, await idpAnswer(t, other, { user: { nameId: "later@corp.example" } }));
    expect(refused.status).toBe(400);
    await setRequired(other, false);
    expect(await signedInEmail(await postToAcs(t, other.slug, await idpAnswer(t, other, { user: { nameId: "later@corp.example" } })))).toBe("later@corp.example");
  });
});

describe("logins with the setting off (the default)", () => {
  it("signs users in with a plain or an encrypted assertion", async () => {
    const tenant = await setUpSamlTenant(t, { provisioning: "jit" });
    expect((await t.api().get(connectionUrl(tenant)).expect(200)).body.requireEncryptedAssertions).toBe(false);
    expect(await signedInEmail(await postToAcs(t, tenant.slug, await idpAnswer(t, tenant, { user: { nameId: "plain@off.example" } })))).toBe("plain@off.example");
    expect(await signedInEmail(await postToAcs(t, tenant.slug, await idpAnswer(t, tenant, { user: { nameId: "sealed@off.example" }, encrypt: {} })))).toBe("sealed@off.example");
  });
});

describe("several connections in one tenant", () => {
  it("applies the setting of the connection the response's Issuer chose, not the tenant's first", async () => {
    const first = await setUpSamlTenant(t, { allowIdpInitiated: true, provisioning: "jit" });
    const second = await addSamlConnection(t, first, { allowIdpInitiated: true, provisioning: "jit" });
    await setRequired(second, true);
    const unsolicited = async (through: SamlTenant, nameId: string, encrypt?: object) =>
      postToAcs(t, first.slug, { SAMLResponse: await through.idp.respond(through.spMetadata, null, { user: { nameId }, ...(encrypt ? { encrypt } : {}) }) });

    expect(await signedInEmail(await unsolicited(first, "one@first.example"))).toBe("one@first.example");
    expect(await signedInEmail(await unsolicited(second, "two@second.example", {}))).toBe("two@second.example");
    const before = await footprint(t, second);
    await expectRefused(t, second, await unsolicited(second, "plain@second.example"), before);
    const failure = (await auditOf(first.tenantId, "sso.login.failed")).at(-1);
    expect(failure!.data).toMatchObject({ connectionId: second.connectionId, reason: "assertion_not_encrypted" });
    expect((await t.api().get(connectionUrl(second)).expect(200)).body.health.failures.byReason).toEqual({ assertion_not_encrypted: 1 });
    expect((await t.api().get(connectionUrl(first)).expect(200)).body.health.failures.total).toBe(0);
  });
});
