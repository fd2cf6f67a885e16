// Support staff register a tenant's identity provider: SAML (metadata or fields) or OIDC. Bad
// certificates, hostile metadata and wrong issuers are refused on save; secrets never come back out.
import { checkedAgent, startTestApp, uniqueSlug, type TestApp } from "../../support/harness";
import { SecretBox } from "../../../src/platform/crypto";
import { clientSecretContext } from "../../../src/sso/connection.service";
import { discoverIssuer } from "../../../src/sso/oidc-discovery";
import { idpMetadata, makeCertificates, startDiscoveryServer } from "./fixtures";

let t: TestApp;
let slug: string;
let certs: ReturnType<typeof makeCertificates>;
let discovery: Awaited<ReturnType<typeof startDiscoveryServer>>;
const SECRET = "s3cr3t-client-secret-value-9f2c";

beforeAll(async () => {
  certs = makeCertificates();
  discovery = await startDiscoveryServer();
  t = await startTestApp();
  slug = uniqueSlug("sso");
  await t.api().post("/api/v1/tenants").send({ slug, name: "SSO Co", region: "us" }).expect(201);
});
afterAll(async () => {
  await t.close();
  await discovery.close();
});

const url = (tenant = slug) => `/api/v1/tenants/${tenant}/sso-connections`;
const samlFields = () => ({ type: "saml", idpEntityId: "https://idp.example/entity", ssoUrl: "https://idp.example/sso", certificates: [certs.valid] });
const events = async (type: string) => (await t.api().get(`/api/v1/tenants/${slug}/audit-events`).query({ type })).body.items;

describe("SAML connections", () => {
  it("creates one from fields: 201 with certificate summaries and defaults", async () => {
    const res = await t.api().post(url()).send({ ...samlFields(), certificates: [certs.valid, certs.second], attributeMapping: { email: "mail" } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      type: "saml", enabled: true, idpEntityId: "https://idp.example/entity", ssoUrl: "https://idp.example/sso", sloUrl: null,
      allowIdpInitiated: false, wantAssertionsSigned: true, provisioning: "pre-provisioned", attributeMapping: { email: "mail" },
    });
    expect(res.body.certificates).toHaveLength(2);
    expect(res.body.certificates[0]).toMatchObject({ subject: "CN=idp", fingerprint256: expect.stringMatching(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/) });
    expect([29, 30]).toContain(res.body.certificates[0].daysLeft);
    expect(res.body.certificates[1].subject).toBe("CN=idp-next");

    const created = (await events("sso.connection.created")).find((e: { target: { id: string } }) => e.target.id === res.body.id);
    expect(created.actor.type).toBe("api_key");
    expect(created.data.after).toMatchObject({ id: res.body.id, idpEntityId: "https://idp.example/entity" });
    expect((await t.api().get(`${url()}/${res.body.id}`)).body).toEqual(res.body);
  });

  it("creates one from IdP metadata: entity ID, redirect SSO URL, SLO URL and only the signing certificates", async () => {
    const metadataXml = idpMetadata({ entityId: "urn:idp:meta", certificates: [certs.valid, certs.second] });
    const res = await t.api().post(url()).send({ type: "saml", metadataXml, allowIdpInitiated: true, provisioning: "jit" });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      idpEntityId: "urn:idp:meta", ssoUrl: "https://idp.example/sso/redirect", sloUrl: "https://idp.example/slo", allowIdpInitiated: true, provisioning: "jit",
    });
    expect(res.body.certificates.map((c: { subject: string }) => c.subject)).toEqual(["CN=idp", "CN=idp-next"]);
  });

  it("refuses metadata with a DOCTYPE (XXE / entity expansion), creating nothing", async () => {
    const before = (await t.api().get(url())).body.items.length;
    const doctype = '<!DOCTYPE md [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>';
    const res = await t.api().post(url()).send({ type: "saml", metadataXml: idpMetadata({ entityId: "urn:idp:x", certificates: [certs.valid], doctype }) });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: "invalid_idp_metadata", errors: [{ path: "metadataXml" }] });
    expect(res.body.detail).toMatch(/DOCTYPE/);
    expect((await t.api().get(url())).body.items).toHaveLength(before);
  });

  it("refuses metadata that is not IdP metadata or not XML", async () => {
    for (const metadataXml of ["<not xml", '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>']) {
      const res = await t.api().post(url()).send({ type: "saml", metadataXml });
      expect([res.status, res.body.code]).toEqual([400, "invalid_idp_metadata"]);
    }
  });

  it("refuses an expired certificate, naming its index and expiry date", async () => {
    const res = await t.api().post(url()).send({ ...samlFields(), certificates: [certs.valid, certs.expired] });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("invalid_certificate");
    expect(res.body.errors).toEqual([{ path: "certificates.1", message: "certificate 1 expired on 2020-02-01T00:00:00.000Z" }]);
  });

  it("refuses an expired certificate inside metadata too", async () => {
    const res = await t.api().post(url()).send({ type: "saml", metadataXml: idpMetadata({ entityId: "urn:idp:old", certificates: [certs.expired] }) });
    expect(res.body).toMatchObject({ status: 400, code: "invalid_certificate", errors: [{ path: "metadataXml.certificates.0" }] });
  });

  it.each([
    ["garbage", "hello"],
    ["a damaged PEM body", "damaged"],
    ["a private key pasted with the certificate", "private"],
  ])("refuses %s as a certificate", async (_label, kind) => {
    const cert = kind === "private" ? `${certs.valid}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n` : kind === "damaged" ? certs.valid.replace(/\n[A-Za-z0-9+/]{64}\n/, "\n") /* a line missing: DER lengths no longer add up */ : kind;
    const res = await t.api().post(url()).send({ ...samlFields(), certificates: [cert] });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: "invalid_certificate", errors: [{ path: "certificates.0" }] });
  });

  it("needs metadataXml or the three fields, not both", async () => {
    const missing = await t.api().post(url()).send({ type: "saml", idpEntityId: "x" });
    expect(missing.body).toMatchObject({ status: 400, code: "validation_failed" });
    expect(missing.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(["certificates", "ssoUrl"]);
    const both = await t.api().post(url()).send({ ...samlFields(), metadataXml: "<x/>" });
    expect(both.body.code).toBe("validation_failed");
    const http = await t.api().post(url()).send({ ...samlFields(), ssoUrl: "http://idp.example/sso" });
    expect(http.body.errors[0].path).toBe("ssoUrl");
  });

  it("rotates certificates with PATCH and audits before/after", async () => {
    const id = (await t.api().post(url()).send(samlFields()).expect(201)).body.id;
    const res = await t.api().patch(`${url()}/${id}`).send({ certificates: [certs.valid, certs.second], sloUrl: "https://idp.example/logout" });
    expect(res.status).toBe(200);
    expect(res.body.certificates).toHaveLength(2);
    expect(res.body.sloUrl).toBe("https://idp.example/logout");
    const updated = (await events("sso.connection.updated")).find((e: { target: { id: string } }) => e.target.id === id);
    expect(updated.data.before.certificates).toHaveLength(1);
    expect(updated.data.after.certificates).toHaveLength(2);

    const wrongType = await t.api().patch(`${url()}/${id}`).send({ clientSecret: "x" });
    expect(wrongType.body).toMatchObject({ status: 400, code: "validation_failed", errors: [{ path: "clientSecret" }] });
    const expired = await t.api().patch(`${url()}/${id}`).send({ certificates: [certs.expired] });
    expect(expired.body.code).toBe("invalid_certificate");
  });

  it("keeps the step-up contexts to ask the IdP for: repeats dropped, values with spaces or too many refused, cleared with []", async () => {
    const strong = "urn:acme:idp:loa:strong";
    const created = await t.api().post(url()).send({ ...samlFields(), stepUpContexts: [strong, strong, "https://refeds.org/profile/mfa"] }).expect(201);
    expect(created.body.stepUpContexts).toEqual([strong, "https://refeds.org/profile/mfa"]);
    expect((await t.api().get(`${url()}/${created.body.id}`).expect(200)).body.stepUpContexts).toEqual([strong, "https://refeds.org/profile/mfa"]);
    for (const stepUpContexts of [["two words"], [""], Array.from({ length: 11 }, (_, i) => `urn:loa:${i}`)]) {
      const refused = await t.api().patch(`${url()}/${created.body.id}`).send({ stepUpContexts }).expect(400);
      expect(refused.body.code).toBe("validation_failed");
    }
    const cleared = await t.api().patch(`${url()}/${created.body.id}`).send({ stepUpContexts: [] }).expect(200);
    expect(cleared.body.stepUpContexts).toEqual([]);
    // A connection made without them asks for nothing.
    expect((await t.api().post(url()).send(samlFields()).expect(201)).body.stepUpContexts).toEqual([]);
  });

  it("deletes one (204), audited with deleted: true", async () => {
    const id = (await t.api().post(url()).send(samlFields()).expect(201)).body.id;
    await t.api().delete(`${url()}/${id}`).expect(204);
    expect((await t.api().get(`${url()}/${id}`)).status).toBe(404);
    const deleted = (await events("sso.connection.updated")).find((e: { target: { id: string } }) => e.target.id === id);
    expect(deleted.data).toMatchObject({ deleted: true, before: { id } });
    expect((await t.api().delete(`${url()}/${id}`)).status).toBe(404);
    expect((await t.api().get(`${url()}/not-a-uuid`)).status).toBe(404);
  });
});


describe("OIDC connections", () => {
  it("creates one after checking discovery; the secret never comes back and is stored sealed", async () => {
    const issuer = `${discovery.base}/good`;
    const res = await t.api().post(url()).send({ type: "oidc", issuer, clientId: "gatehouse", clientSecret: SECRET });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ type: "oidc", issuer, clientId: "gatehouse", hasClientSecret: true, scopes: ["openid", "email", "profile"], claimMapping: null });
    expect(JSON.stringify(res.body)).not.toContain(SECRET);
    expect(JSON.stringify((await t.api().get(url())).body)).not.toContain(SECRET);
    expect(JSON.stringify((await t.api().get(`${url()}/${res.body.id}`)).body)).not.toContain(SECRET);
    expect(JSON.stringify(await events("sso.connection.created"))).not.toContain(SECRET);

    const row = await t.container.infra.db.ssoConnection.findUniqueOrThrow({ where: { id: res.body.id } });
    expect(row.clientSecretSealed).not.toContain(SECRET);
    expect(row.clientSecretSealed).toMatch(/^v1\./);
    const box = new SecretBox(t.container.infra.config.secretKeys);
    expect(box.open(row.clientSecretSealed!, clientSecretContext(row.id))).toBe(SECRET);
    // Bound to its own row: the sealed value does not open for another connection.
    expect(() => box.open(row.clientSecretSealed!, clientSecretContext("another-id"))).toThrow();
  });

  it("replaces the secret with PATCH, auditing only that it changed", async () => {
    const id = (await t.api().post(url()).send({ type: "oidc", issuer: `${discovery.base}/good`, clientId: "c", clientSecret: SECRET }).expect(201)).body.id;
    const res = await t.api().patch(`${url()}/${id}`).send({ clientSecret: "new-secret-value-123", scopes: ["openid", "email"] });
    expect(res.status).toBe(200);
    expect(res.body.scopes).toEqual(["openid", "email"]);
    const event = (await events("sso.connection.updated")).find((e: { target: { id: string } }) => e.target.id === id);
    expect(event.data).toMatchObject({ clientSecretChanged: true, after: { scopes: ["openid", "email"] } });
    expect(JSON.stringify(event)).not.toContain("new-secret-value-123");
    expect((await t.api().patch(`${url()}/${id}`).send({ metadataXml: "<x/>" })).body.errors[0].path).toBe("metadataXml");
  });

  it.each([
    ["an issuer whose document names another issuer", "/liar", /names issuer "https:\/\/evil.example"/],
    ["an issuer without a discovery document", "/missing", /answered 404/],
    ["a trailing-slash variant of the issuer", "/good/", /names issuer/],
  ])("refuses %s with a 400 naming issuer", async (_label, suffix, detail) => {
    const res = await t.api().post(url()).send({ type: "oidc", issuer: `${discovery.base}${suffix}`, clientId: "c", clientSecret: SECRET });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: "oidc_discovery_failed", errors: [{ path: "issuer" }] });
    expect(res.body.detail).toMatch(detail);
  });

  it("refuses an issuer that is not a URL, or scopes without openid", async () => {
    expect((await t.api().post(url()).send({ type: "oidc", issuer: "nope", clientId: "c", clientSecret: SECRET })).body.code).toBe("oidc_discovery_failed");
    const scopes = await t.api().post(url()).send({ type: "oidc", issuer: `${discovery.base}/good`, clientId: "c", clientSecret: SECRET, scopes: ["email"] });
    expect(scopes.body).toMatchObject({ code: "validation_failed", errors: [{ path: "scopes" }] });
  });

  it("gives up on a discovery endpoint that does not answer in time", async () => {
    const started = Date.now();
    await expect(discoverIssuer(`${discovery.base}/slow`, { timeoutMs: 300, allowHttp: true })).rejects.toMatchObject({
      code: "oidc_discovery_failed", message: expect.stringMatching(/did not answer within 300 ms/), errors: [{ path: "issuer", message: expect.any(String) }],
    });
    expect(Date.now() - started).toBeLessThan(3000);
    await expect(discoverIssuer(`${discovery.base}/good`, { timeoutMs: 1000, allowHttp: false })).rejects.toMatchObject({ message: expect.stringMatching(/https/) });
  });
});

describe("a key bound to another tenant", () => {
  it("gets 404 for every connection route of this tenant, and changes nothing", async () => {
    const other = uniqueSlug("other");
    await t.api().post("/api/v1/tenants").send({ slug: other, name: "Other", region: "us" }).expect(201);
    const key = (await t.api().post("/api/v1/api-keys").send({ name: "other-support", scopes: ["tenants:write"], tenant: other }).expect(201)).body.key;
    const id = (await t.api().post(url()).send(samlFields()).expect(201)).body.id;
    const bound = checkedAgent(t.app, key);
    const calls = [
      bound.get(url()), bound.post(url()).send(samlFields()), bound.get(`${url()}/${id}`),
      bound.patch(`${url()}/${id}`).send({ enabled: false }), bound.delete(`${url()}/${id}`),
    ];
    for (const res of await Promise.all(calls)) expect([res.status, res.body.code]).toEqual([404, "not_found"]);
    expect((await t.api().get(`${url()}/${id}`)).body.enabled).toBe(true);
    expect((await bound.get(url(other))).status).toBe(200);
    const readOnly = (await t.api().post("/api/v1/api-keys").send({ name: "ro", scopes: ["tenants:read"] }).expect(201)).body.key;
    expect((await checkedAgent(t.app, readOnly).post(url()).send(samlFields())).status).toBe(403);
  });
});
