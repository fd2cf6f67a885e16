// SAML single logout at the SP's SingleLogoutService (HTTP-Redirect and HTTP-POST): the IdP's
// LogoutRequest ends exactly the sessions its login made here and gets a signed LogoutResponse back; the
// IdP's LogoutResponse to our own LogoutRequest is accepted once.
import { deflateRawSync } from "node:zlib";
import { DOMParser } from "@xmldom/xmldom";
import supertest from "supertest";
import { startTestApp, type TestApp } from "../../support/harness";
import { CookieBrowser, createUser, PASSWORD, signInSkippingMfa } from "../../support/login-helpers";
import type { LogoutDelivery } from "../../support/saml-idp";
import { idpAnswer, logoutRefusals, postToAcs, sessionCookieOf, setUpSamlTenant, type SamlTenant } from "../../support/saml-login";

// The harness leaves PUBLIC_URL unset: the service's default for port 3000.
const publicUrl = "http://localhost:3000";
const MD = "urn:oasis:names:tc:SAML:2.0:metadata";
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

/** A SAML login through the tenant's IdP; returns the session cookie. */
async function samlSession(tenant: SamlTenant, nameId: string, sessionIndex: string): Promise<string> {
  const res = await postToAcs(t, tenant.slug, await idpAnswer(t, tenant, { user: { nameId, sessionIndex } }));
  const cookie = sessionCookieOf(res);
  if (res.status !== 303 || !cookie) throw new Error(`SAML login: ${res.status} ${res.text}`);
  return cookie;
}

async function localSession(slug: string, email: string): Promise<string> {
  const browser = new CookieBrowser(t.app);
  await signInSkippingMfa(browser, { tenant: slug, email, password: PASSWORD });
  return [...browser.cookies].filter(([name]) => name.endsWith("gh_session")).map(([name, value]) => `${name}=${value}`)[0]!;
}

const alive = async (cookie: string) => (await supertest(t.app).get("/authz").set("Cookie", cookie)).status === 200;

/** The browser following the IdP's HTTP-Redirect to our SLO URL. */
function deliver(message: LogoutDelivery): supertest.Test {
  const url = new URL(message.url!);
  return supertest(t.app).get(url.pathname + url.search).set("Accept", "text/html");
}

/** The IdP's page posting the HTTP-POST form to our SLO URL, cross-site: no cookie, no CSRF token. */
function deliverForm(slug: string, message: LogoutDelivery): supertest.Test {
  return supertest(t.app).post(`/sso/${slug}/saml/slo`).type("form").set("Accept", "text/html").set("Origin", "https://idp.example").send(message.form!);
}

describe("SP metadata", () => {
  it("advertises the SingleLogoutService for HTTP-Redirect and HTTP-POST", async () => {
    const tenant = await setUpSamlTenant(t);
    const doc = new DOMParser().parseFromString(tenant.spMetadata, "text/xml");
    const found = doc.getElementsByTagNameNS(MD, "SingleLogoutService");
    const services = Array.from({ length: found.length }, (_, i) => found[i]!);
    expect(services.map((s) => [s.getAttribute("Binding"), s.getAttribute("Location")])).toEqual([
      ["urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect", `${publicUrl}/sso/${tenant.slug}/saml/slo`],
      ["urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST", `${publicUrl}/sso/${tenant.slug}/saml/slo`],
    ]);
  });
});

describe("IdP-initiated single logout", () => {
  let tenant: SamlTenant;
  beforeAll(async () => {
    tenant = await setUpSamlTenant(t);
    await createUser(t, tenant.slug, { email: "ada@slo.example", kind: "member" });
    await createUser(t, tenant.slug, { email: "bob@slo.example", kind: "member" });
  });

  it("ends exactly that user's SAML session from that connection, and answers with a LogoutResponse the IdP verifies", async () => {
    const adaSaml = await samlSession(tenant, "ada@slo.example", "idp-ada-1");
    const adaOtherIdpSession = await samlSession(tenant, "ada@slo.example", "idp-ada-2");
    const adaLocal = await localSession(tenant.slug, "ada@slo.example");
    const bobSaml = await samlSession(tenant, "bob@slo.example", "idp-bob-1");

    const request = tenant.idp.logoutRequest(tenant.spMetadata, { nameId: "ada@slo.example", sessionIndexes: ["idp-ada-1"] }, { binding: "redirect", relayState: "idp-state-7" });
    const res = await deliver(request);
    expect(res.status).toBe(303);
    const answer = await tenant.idp.parseLogoutResponse(String(res.headers.location), tenant.spMetadata);
    expect(answer).toEqual({
      inResponseTo: request.id,
      issuer: `${publicUrl}/sso/${tenant.slug}/saml/metadata`,
      destination: tenant.idp.sloUrl,
      status: "urn:oasis:names:tc:SAML:2.0:status:Success",
      relayState: "idp-state-7",
    });

    expect(await alive(adaSaml)).toBe(false);
    expect(await alive(adaOtherIdpSession)).toBe(true);
    expect(await alive(adaLocal)).toBe(true);
    expect(await alive(bobSaml)).toBe(true);

    const events = await t.api().get(`/api/v1/tenants/${tenant.slug}/audit-events`).query({ type: "session.revoked" }).expect(200);
    expect(events.body.items[0]).toMatchObject({
      type: "session.revoked",
      actor: { type: "system", id: `sso_connection:${tenant.connectionId}` },
      data: { by: "idp", reason: "saml_single_logout", connectionId: tenant.connectionId, count: 1 },
    });
  });

  it("without SessionIndex, ends every SAML session of the NameID from that connection (HTTP-POST)", async () => {
    const first = await samlSession(tenant, "ada@slo.example", "idp-ada-3");
    const second = await samlSession(tenant, "ada@slo.example", "idp-ada-4");
    const bob = await samlSession(tenant, "bob@slo.example", "idp-bob-2");
    const request = tenant.idp.logoutRequest(tenant.spMetadata, { nameId: "ada@slo.example" }, { binding: "post" });
    expect(Buffer.from(request.form!.SAMLRequest!, "base64").toString("utf8")).toContain("<ds:Signature");

    const res = await deliverForm(tenant.slug, request);
    expect(res.status).toBe(303);
    expect((await tenant.idp.parseLogoutResponse(String(res.headers.location), tenant.spMetadata)).inResponseTo).toBe(request.id);
    expect(await alive(first)).toBe(false);
    expect(await alive(second)).toBe(false);
    expect(await alive(bob)).toBe(true);
  });

  it("answers Success for a NameID with no session here: the end state the IdP asked for holds", async () => {
    const request = tenant.idp.logoutRequest(tenant.spMetadata, { nameId: "nobody@slo.example" }, { binding: "redirect" });
    const res = await deliver(request);
    expect(res.status).toBe(303);
    expect((await tenant.idp.parseLogoutResponse(String(res.headers.location), tenant.spMetadata)).status).toBe("urn:oasis:names:tc:SAML:2.0:status:Success");
  });

  it("ends the sessions even when the connection has no SLO URL, and says so on a page", async () => {
    const noSlo = await setUpSamlTenant(t);
    await createUser(t, noSlo.slug, { email: "cy@slo.example", kind: "member" });
    const session = await samlSession(noSlo, "cy@slo.example", "idp-cy-1");
    await supertest(t.app).patch(`/api/v1/tenants/${noSlo.slug}/sso-connections/${noSlo.connectionId}`).set("Authorization", `Bearer ${t.adminToken}`).send({ sloUrl: null }).expect(200);
    const res = await deliver(noSlo.idp.logoutRequest(noSlo.spMetadata, { nameId: "cy@slo.example" }, { binding: "redirect" }));
    expect(res.status).toBe(200);
    expect(res.text).toContain("signed out");
    expect(await alive(session)).toBe(false);
  });
});

describe("the IdP's LogoutResponse to our LogoutRequest", () => {
  let tenant: SamlTenant;
  beforeAll(async () => {
    tenant = await setUpSamlTenant(t, { provisioning: "jit" });
  });

  /** Signs in over SAML, logs out here (POST /logout), and returns the ID of the LogoutRequest sent to the IdP. */
  async function logoutHere(nameId: string): Promise<string> {
    const browser = new CookieBrowser(t.app);
    const [name, value] = (await samlSession(tenant, nameId, `idp-${nameId}`)).split("=") as [string, string];
    browser.cookies.set(name, value);
    await browser.get("/account");
    const out = await browser.post("/logout", {});
    expect(out.status).toBe(303);
    return (await tenant.idp.parseLogoutRequest(String(out.headers.location), tenant.spMetadata)).id;
  }

  it("is accepted once (HTTP-Redirect) and refused when replayed", async () => {
    const requestId = await logoutHere("dee@slo.example");
    const response = tenant.idp.logoutResponse(tenant.spMetadata, requestId, { binding: "redirect" });
    const res = await deliver(response);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/login?tenant=${tenant.slug}`);

    const replay = await deliver(response);
    expect(replay.status).toBe(400);
    expect(replay.headers.location).toBeUndefined();
    expect(replay.headers["content-type"]).toMatch(/text\/html/);
    expect((await logoutRefusals(t, tenant.tenantId)).at(-1)!.data).toMatchObject({ reason: "unknown_in_response_to", message: "LogoutResponse" });
  });

  it("is accepted over HTTP-POST, cross-site and without a CSRF token", async () => {
    const requestId = await logoutHere("eve@slo.example");
    const res = await deliverForm(tenant.slug, tenant.idp.logoutResponse(tenant.spMetadata, requestId, { binding: "post" }));
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/login?tenant=${tenant.slug}`);
  });

  it("is refused for a request this tenant never sent, and for one sent by another tenant", async () => {
    const other = await setUpSamlTenant(t, { idp: tenant.idp, provisioning: "jit" });
    const requestId = await logoutHere("fay@slo.example");
    // The same IdP answers, but to the other tenant's SLO endpoint: the request ID is only known to the first.
    const elsewhere = other.idp.logoutResponse(other.spMetadata, requestId, { binding: "redirect" });
    expect((await deliver(elsewhere)).status).toBe(400);
    expect((await deliver(tenant.idp.logoutResponse(tenant.spMetadata, "_never-sent", { binding: "redirect" }))).status).toBe(400);
    // The genuine answer still works afterwards: the refusals did not use the request up.
    expect((await deliver(tenant.idp.logoutResponse(tenant.spMetadata, requestId, { binding: "redirect" }))).status).toBe(303);
    // Each refusal is audited against the tenant it reached, with its reason.
    const refused = { reason: "unknown_in_response_to", message: "LogoutResponse", binding: "redirect", protocol: "saml" };
    expect((await logoutRefusals(t, other.tenantId)).map((row) => row.data)).toEqual([{ ...refused, connectionId: other.connectionId }]);
    expect((await logoutRefusals(t, tenant.tenantId)).at(-1)!.data).toEqual({ ...refused, connectionId: tenant.connectionId });
  });
});

describe("message limits, as at the ACS", () => {
  let tenant: SamlTenant;
  beforeAll(async () => {
    tenant = await setUpSamlTenant(t);
  });

  it("answers 413 to a POST body over 1 MB, and to a redirect message that inflates beyond it", async () => {
    const big = await deliverForm(tenant.slug, { id: "", form: { SAMLRequest: "A".repeat(1024 * 1024 + 16) } });
    expect(big.status).toBe(413);
    // A few kilobytes of URL that would inflate to 4 MB of XML.
    const bomb = deflateRawSync(Buffer.from(`<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">${" ".repeat(4 * 1024 * 1024)}</samlp:LogoutRequest>`)).toString("base64");
    expect(bomb.length).toBeLessThan(16 * 1024);
    const res = await supertest(t.app).get(`/sso/${tenant.slug}/saml/slo`).query({ SAMLRequest: bomb }).set("Accept", "text/html");
    expect(res.status).toBe(413);
    // The body parser turns the first away before any SAML is read; the inflated one is a refused message.
    expect((await logoutRefusals(t, tenant.tenantId)).map((row) => [row.data.reason, row.data.binding])).toEqual([["too_large", "redirect"]]);
  });

  it("refuses a DOCTYPE in either binding", async () => {
    const xml = `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&e;</samlp:LogoutRequest>`;
    const posted = await deliverForm(tenant.slug, { id: "", form: { SAMLRequest: Buffer.from(xml).toString("base64") } });
    expect(posted.status).toBe(400);
    const redirected = await supertest(t.app).get(`/sso/${tenant.slug}/saml/slo`).query({ SAMLRequest: deflateRawSync(Buffer.from(xml)).toString("base64") }).set("Accept", "text/html");
    expect(redirected.status).toBe(400);
    expect(redirected.text).not.toContain("root:");
    expect((await logoutRefusals(t, tenant.tenantId)).slice(-2).map((row) => [row.data.reason, row.data.binding])).toEqual([["doctype", "post"], ["doctype", "redirect"]]);
  });
});
