// SAML single sign-on end to end against a real IdP (samlify): SP metadata, SP-initiated login over
// HTTP-Redirect with a signed AuthnRequest, the POST to the ACS, the session, JIT and pre-provisioned
// linking, and IdP-initiated login where the connection allows it.
import { X509Certificate } from "node:crypto";
import { DOMParser } from "@xmldom/xmldom";
import supertest from "supertest";
import { startTestApp, type TestApp } from "../../support/harness";
import { NAMEID_PERSISTENT, TestSamlIdp } from "../../support/saml-idp";
import { CookieBrowser } from "../../support/login-helpers";
import { footprint, idpAnswer, postToAcs, sessionCookieOf, setUpSamlTenant, startSamlLogin, type SamlTenant } from "../../support/saml-login";

// The harness leaves PUBLIC_URL unset: the service's default for port 3000.
const publicUrl = "http://localhost:3000";
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const MD = "urn:oasis:names:tc:SAML:2.0:metadata";

async function accountPage(cookie: string): Promise<supertest.Response> {
  return supertest(t.app).get("/account").set("Cookie", cookie).set("Accept", "text/html");
}

async function usersOf(tenant: SamlTenant) {
  return t.container.infra.db.user.findMany({ where: { tenantId: tenant.tenantId } });
}

describe("SP metadata", () => {
  it("publishes the tenant's entity ID, its ACS (HTTP-POST) and a signing certificate", async () => {
    const tenant = await setUpSamlTenant(t);
    const res = await supertest(t.app).get(`/sso/${tenant.slug}/saml/metadata`).expect(200);
    expect(res.headers["content-type"]).toMatch(/^application\/samlmetadata\+xml/);
    const errors: string[] = [];
    const doc = new DOMParser({ errorHandler: { error: (m) => errors.push(m), fatalError: (m) => errors.push(m) } }).parseFromString(res.text, "text/xml");
    expect(errors).toEqual([]);
    const entity = doc.documentElement!;
    expect([entity.namespaceURI, entity.localName]).toEqual([MD, "EntityDescriptor"]);
    const entityId = `${publicUrl}/sso/${tenant.slug}/saml/metadata`;
    expect(entity.getAttribute("entityID")).toBe(entityId);
    const sp = doc.getElementsByTagNameNS(MD, "SPSSODescriptor")[0]!;
    expect(sp.getAttribute("WantAssertionsSigned")).toBe("true");
    expect(sp.getAttribute("AuthnRequestsSigned")).toBe("true");
    const acs = doc.getElementsByTagNameNS(MD, "AssertionConsumerService")[0]!;
    expect(acs.getAttribute("Location")).toBe(`${publicUrl}/sso/${tenant.slug}/saml/acs`);
    expect(acs.getAttribute("Binding")).toBe("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST");
    const key = doc.getElementsByTagNameNS(MD, "KeyDescriptor")[0]!;
    expect(key.getAttribute("use")).toBe("signing");
    const certificate = new X509Certificate(Buffer.from(key.textContent!.replace(/\s+/g, ""), "base64"));
    expect(new Date(certificate.validTo).getTime()).toBeGreaterThan(Date.now() + 5 * 365 * 24 * 3600 * 1000);
    expect(certificate.verify(certificate.publicKey)).toBe(true);
  });

  it("uses one SP key for every tenant, stored sealed in signing_keys and shared by instances with the same secrets", async () => {
    const a = await setUpSamlTenant(t);
    const b = await setUpSamlTenant(t);
    const certOf = (xml: string) => /<ds:X509Certificate>([^<]+)</.exec(xml)?.[1]?.replace(/\s+/g, "");
    expect(certOf(a.spMetadata)).toBeDefined();
    expect(certOf(a.spMetadata)).toBe(certOf(b.spMetadata));
    const rows = await t.container.infra.db.signingKey.findMany({ where: { purpose: "saml-sp", retiredAt: null } });
    const row = rows.find((r) => r.certificatePem?.replace(/-----[A-Z ]+-----|\s+/g, "") === certOf(a.spMetadata));
    expect(row).toMatchObject({ algorithm: "RS256", privateKeySealed: expect.stringMatching(/^v1\./) });
    expect(row!.privateKeySealed).not.toMatch(/PRIVATE KEY/);

    const secrets = { SECRET_KEYS: `k1:${Buffer.alloc(32, 7).toString("base64")}` };
    const [one, two] = [await startTestApp(secrets), await startTestApp(secrets)];
    try {
      const first = certOf((await supertest(one.app).get(`/sso/${a.slug}/saml/metadata`).expect(200)).text);
      const second = certOf((await supertest(two.app).get(`/sso/${a.slug}/saml/metadata`).expect(200)).text);
      expect(second).toBe(first);
      // Another secret, another key: passed over, not a failure.
      expect(first).not.toBe(certOf(a.spMetadata));
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it("is 404 for a tenant that does not exist", async () => {
    await supertest(t.app).get("/sso/no-such-tenant-here/saml/metadata").expect(404);
  });
});

describe("SP-initiated login", () => {
  it("start -> IdP -> ACS -> return_to with a session that opens /account; JIT creates a member", async () => {
    const tenant = await setUpSamlTenant(t, { provisioning: "jit" });
    const location = await startSamlLogin(t, tenant.slug, "/account?tab=sessions");
    const url = new URL(location);
    expect(`${url.origin}${url.pathname}`).toBe(tenant.idp.ssoUrl);
    expect(url.searchParams.get("SAMLRequest")).toBeTruthy();
    expect(url.searchParams.get("SigAlg")).toBe("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256");
    // RelayState is an opaque id: return_to stays on the server.
    expect(url.searchParams.get("RelayState")).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const answer = await tenant.idp.answer(location, tenant.spMetadata, {
      user: { nameId: "ada@jit.example", attributes: { givenName: "Ada", sn: "Lovelace" }, sessionIndex: "idp-session-1" },
    });
    expect(answer.request.acsUrl).toBe(`${publicUrl}/sso/${tenant.slug}/saml/acs`);
    expect(answer.request.spEntityId).toBe(`${publicUrl}/sso/${tenant.slug}/saml/metadata`);

    const res = await postToAcs(t, tenant.slug, { SAMLResponse: answer.SAMLResponse, RelayState: answer.RelayState! });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe("/account?tab=sessions");
    const cookie = sessionCookieOf(res);
    expect(cookie).toBeDefined();
    const account = await accountPage(cookie!);
    expect(account.status).toBe(200);
    expect(account.text).toContain("ada@jit.example");

    const [user] = await usersOf(tenant);
    expect(user).toMatchObject({ email: "ada@jit.example", name: "Ada Lovelace", kind: "member", status: "active" });
    const identity = await t.container.infra.db.externalIdentity.findFirst({ where: { connectionId: tenant.connectionId } });
    expect(identity).toMatchObject({ userId: user!.id, subject: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress|ada@jit.example" });
    const sessions = await t.container.sessions.listUserSessions(user!.id);
    expect(sessions[0]).toMatchObject({ method: "saml", amr: ["pwd"], sso: { connectionId: tenant.connectionId, nameId: "ada@jit.example", sessionIndex: "idp-session-1" } });
    const types = (await t.container.infra.db.auditEvent.findMany({ where: { tenantId: tenant.tenantId } })).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(["user.created", "sso.login.succeeded"]));
  });

  it("accepts a response signed as a whole as well as in its assertion", async () => {
    const tenant = await setUpSamlTenant(t, { provisioning: "jit" });
    const form = await idpAnswer(t, tenant, { user: { nameId: "both@jit.example" }, sign: "both" });
    const res = await postToAcs(t, tenant.slug, form);
    expect([res.status, res.headers.location]).toEqual([303, "/account"]);
    expect(sessionCookieOf(res)).toBeDefined();
  });

  it("a second login of the same NameID reaches the same user", async () => {
    const tenant = await setUpSamlTenant(t, { provisioning: "jit" });
    for (let i = 0; i < 2; i++) {
      const res = await postToAcs(t, tenant.slug, await idpAnswer(t, tenant, { user: { nameId: "again@jit.example" } }));
      expect(res.status).toBe(303);
    }
    expect(await footprint(t, tenant)).toEqual({ users: 1, identities: 1 });
  });

  it("takes the email from the mapped attribute when the NameID is not an email address", async () => {
    const tenant = await setUpSamlTenant(t, { provisioning: "jit", attributeMapping: { email: "corpMail", firstName: "first", lastName: "last" } });
    const form = await idpAnswer(t, tenant, {
      user: { nameId: "00u1abcd", nameIdFormat: NAMEID_PERSISTENT, attributes: { corpMail: "grace@mapped.example", mail: "not-this@mapped.example", first: "Grace", last: "Hopper" } },
    });
    const res = await postToAcs(t, tenant.slug, form);
    expect(res.status).toBe(303);
    const [user] = await usersOf(tenant);
    expect(user).toMatchObject({ email: "grace@mapped.example", name: "Grace Hopper" });
    const identity = await t.container.infra.db.externalIdentity.findFirst({ where: { connectionId: tenant.connectionId } });
    expect(identity?.subject).toBe(`${NAMEID_PERSISTENT}|00u1abcd`);
  });
});

describe("linking pre-provisioned users", () => {
  const createMember = (slug: string, email: string) =>
    supertest(t.app).post(`/api/v1/tenants/${slug}/users`).set("Authorization", `Bearer ${t.adminToken}`).send({ email, name: "Member", kind: "member" }).expect(201);

  it("links an existing active user by email within the tenant's domains; creates nobody", async () => {
    const tenant = await setUpSamlTenant(t, { emailDomains: ["linked.example"] });
    const member = await createMember(tenant.slug, "lin@linked.example");
    const res = await postToAcs(t, tenant.slug, await idpAnswer(t, tenant, { user: { nameId: "lin@linked.example" } }));
    expect(res.status).toBe(303);
    expect((await accountPage(sessionCookieOf(res)!)).text).toContain("lin@linked.example");
    const identity = await t.container.infra.db.externalIdentity.findFirst({ where: { connectionId: tenant.connectionId } });
    expect(identity?.userId).toBe(member.body.id);
    expect(await footprint(t, tenant)).toEqual({ users: 1, identities: 1 });
  });

  it("refuses an email outside the tenant's domains, and an unknown email without JIT", async () => {
    const tenant = await setUpSamlTenant(t, { emailDomains: ["linked.example"] });
    await createMember(tenant.slug, "out@elsewhere.example");
    for (const nameId of ["out@elsewhere.example", "nobody@linked.example"]) {
      const res = await postToAcs(t, tenant.slug, await idpAnswer(t, tenant, { user: { nameId } }));
      expect(res.status).toBe(403);
      expect(sessionCookieOf(res)).toBeUndefined();
    }
    expect(await footprint(t, tenant)).toEqual({ users: 1, identities: 0 });
  });

  it("refuses a deactivated user", async () => {
    const tenant = await setUpSamlTenant(t);
    const member = await createMember(tenant.slug, "gone@deact.example");
    await supertest(t.app).patch(`/api/v1/tenants/${tenant.slug}/users/${member.body.id}`).set("Authorization", `Bearer ${t.adminToken}`).send({ status: "deactivated" }).expect(200);
    const res = await postToAcs(t, tenant.slug, await idpAnswer(t, tenant, { user: { nameId: "gone@deact.example" } }));
    expect(res.status).toBe(403);
    expect(res.headers.location).toBeUndefined();
    expect(sessionCookieOf(res)).toBeUndefined();
    expect(await footprint(t, tenant)).toEqual({ users: 1, identities: 0 });
  });
});

describe("IdP-initiated login", () => {
  it("is accepted when the connection allows it, landing on /account or a local RelayState path", async () => {
    const tenant = await setUpSamlTenant(t, { allowIdpInitiated: true, provisioning: "jit" });
    const plain = await postToAcs(t, tenant.slug, { SAMLResponse: await tenant.idp.respond(tenant.spMetadata, null, { user: { nameId: "idp@init.example" } }) });
    expect([plain.status, plain.headers.location]).toEqual([303, "/account"]);
    expect((await accountPage(sessionCookieOf(plain)!)).text).toContain("idp@init.example");

    const local = await postToAcs(t, tenant.slug, { SAMLResponse: await tenant.idp.respond(tenant.spMetadata, null, { user: { nameId: "idp@init.example" } }), RelayState: "/account?from=idp" });
    expect(local.headers.location).toBe("/account?from=idp");
    // An absolute URL in RelayState is not followed: no open redirect through the IdP.
    const away = await postToAcs(t, tenant.slug, { SAMLResponse: await tenant.idp.respond(tenant.spMetadata, null, { user: { nameId: "idp@init.example" } }), RelayState: "https://evil.example/" });
    expect(away.headers.location).toBe("/account");
  });

  it("works with a second IdP key during certificate rotation", async () => {
    const next = new TestSamlIdp();
    const tenant = await setUpSamlTenant(t, { allowIdpInitiated: true, provisioning: "jit" });
    await supertest(t.app).patch(`/api/v1/tenants/${tenant.slug}/sso-connections/${tenant.connectionId}`).set("Authorization", `Bearer ${t.adminToken}`)
      .send({ certificates: [tenant.idp.certificate, next.certificate] }).expect(200);
    const form = { SAMLResponse: await tenant.idp.respond(tenant.spMetadata, null, { user: { nameId: "rot@init.example" }, signer: next }) };
    expect((await postToAcs(t, tenant.slug, form)).status).toBe(303);
  });
});

describe("single logout", () => {
  it("POST /logout ends the session and sends the browser to the IdP with a signed LogoutRequest for it", async () => {
    const tenant = await setUpSamlTenant(t, { provisioning: "jit" });
    const login = await postToAcs(t, tenant.slug, await idpAnswer(t, tenant, { user: { nameId: "bye@slo.example", sessionIndex: "idp-session-42" } }));
    const browser = new CookieBrowser(t.app);
    const [name, value] = sessionCookieOf(login)!.split("=") as [string, string];
    browser.cookies.set(name, value);
    expect((await browser.get("/account")).status).toBe(200);

    const res = await browser.post("/logout", {});
    expect(res.status).toBe(303);
    const request = await tenant.idp.parseLogoutRequest(String(res.headers.location), tenant.spMetadata);
    expect(request).toMatchObject({ nameId: "bye@slo.example", sessionIndex: "idp-session-42", issuer: `${publicUrl}/sso/${tenant.slug}/saml/metadata`, destination: tenant.idp.sloUrl });
    expect((await browser.get("/account")).status).toBe(303);
  });
});
