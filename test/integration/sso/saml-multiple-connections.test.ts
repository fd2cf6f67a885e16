// A tenant with two SAML connections (two IdPs, say after a merger): IdP-initiated responses and the IdPs'
// single-logout messages go to the connection whose IdP entity ID is their Issuer; an SP-initiated
// response stays with the connection its login began with (the stored flow).
import supertest from "supertest";
import { startTestApp, type TestApp } from "../../support/harness";
import { CookieBrowser } from "../../support/login-helpers";
import { TestSamlIdp, type LogoutDelivery } from "../../support/saml-idp";
import {
  addSamlConnection, expectRefused, failureReasons, footprint, idpAnswer, logoutRefusals, postToAcs, sessionCookieOf, setUpSamlTenant, startSamlLogin, type SamlTenant,
} from "../../support/saml-login";

let t: TestApp;
let first: SamlTenant;
let second: SamlTenant;

beforeAll(async () => {
  t = await startTestApp();
  first = await setUpSamlTenant(t, { allowIdpInitiated: true, provisioning: "jit" });
  second = await addSamlConnection(t, first, { allowIdpInitiated: true, provisioning: "jit" });
});
afterAll(() => t.close());

/** The IdP's unsolicited response, posted by the browser to the tenant's one ACS. */
async function unsolicited(through: SamlTenant, nameId: string, sessionIndex?: string): Promise<supertest.Response> {
  return postToAcs(t, through.slug, { SAMLResponse: await through.idp.respond(through.spMetadata, null, { user: { nameId, sessionIndex } }) });
}

async function signedIn(through: SamlTenant, nameId: string, sessionIndex?: string): Promise<string> {
  const res = await unsolicited(through, nameId, sessionIndex);
  const cookie = sessionCookieOf(res);
  if (res.status !== 303 || !cookie) throw new Error(`IdP-initiated login: ${res.status} ${res.text}`);
  return cookie;
}

const alive = async (cookie: string) => (await supertest(t.app).get("/authz").set("Cookie", cookie)).status === 200;

/** The connections the NameID's identity is linked under. */
async function linkedUnder(nameId: string): Promise<string[]> {
  const rows = await t.container.infra.db.externalIdentity.findMany({ where: { subject: { endsWith: `|${nameId}` }, user: { tenantId: first.tenantId } } });
  return rows.map((row) => row.connectionId);
}

async function newestEvent(type: string) {
  return (await t.api().get(`/api/v1/tenants/${first.slug}/audit-events`).query({ type }).expect(200)).body.items[0];
}

function deliver(message: LogoutDelivery): supertest.Test {
  if (message.form) return supertest(t.app).post(`/sso/${first.slug}/saml/slo`).type("form").set("Accept", "text/html").send(message.form);
  const url = new URL(message.url!);
  return supertest(t.app).get(url.pathname + url.search).set("Accept", "text/html");
}

describe("IdP-initiated login", () => {
  it("signs in through the second connection when the second IdP sends the response", async () => {
    const res = await unsolicited(second, "ana@two.example");
    expect([res.status, res.headers.location]).toEqual([303, "/account"]);
    const authz = await supertest(t.app).get("/authz").set("Cookie", sessionCookieOf(res)!).expect(200);
    expect(authz.headers["x-auth-email"]).toBe("ana@two.example");
    expect(await linkedUnder("ana@two.example")).toEqual([second.connectionId]);
    expect(await newestEvent("sso.login.succeeded")).toMatchObject({ data: { connectionId: second.connectionId } });
  });

  it("still signs in through the first connection when the first IdP sends it", async () => {
    expect((await unsolicited(first, "bo@one.example")).status).toBe(303);
    expect(await linkedUnder("bo@one.example")).toEqual([first.connectionId]);
  });

  it("refuses a response from an IdP that is none of the tenant's, as an unknown issuer on the first connection", async () => {
    const stranger = { ...first, idp: new TestSamlIdp() };
    const before = await footprint(t, first);
    await expectRefused(t, first, await unsolicited(stranger, "eve@stranger.example"), before);
    expect((await failureReasons(t, first.tenantId)).at(-1)).toBe("issuer_mismatch");
    expect(await newestEvent("sso.login.failed")).toMatchObject({ data: { connectionId: first.connectionId, reason: "issuer_mismatch" } });
  });

  it("holds each connection to its own IdP-initiated setting", async () => {
    const tenant = await setUpSamlTenant(t, { allowIdpInitiated: true, provisioning: "jit" });
    const strict = await addSamlConnection(t, tenant, { allowIdpInitiated: false, provisioning: "jit" });
    const before = await footprint(t, strict);
    await expectRefused(t, strict, await postToAcs(t, tenant.slug, { SAMLResponse: await strict.idp.respond(strict.spMetadata, null, { user: { nameId: "cy@strict.example" } }) }), before);
    const refused = await t.container.infra.db.auditEvent.findFirst({ where: { tenantId: tenant.tenantId, type: "sso.login.failed" }, orderBy: { id: "desc" } });
    expect(refused?.data).toMatchObject({ connectionId: strict.connectionId, reason: "unsolicited" });
  });
});

describe("SP-initiated login", () => {
  it("stays with the connection the login began with", async () => {
    // /sso/{tenant}/start sends the browser to the first connection's IdP.
    expect((await postToAcs(t, first.slug, await idpAnswer(t, first, { user: { nameId: "di@one.example" } }))).status).toBe(303);
    expect(await linkedUnder("di@one.example")).toEqual([first.connectionId]);

    // The second IdP answering that request (its own Issuer, its own key) is held to the first connection.
    const request = await first.idp.parseAuthnRequest(await startSamlLogin(t, first.slug), first.spMetadata);
    const form = { SAMLResponse: await second.idp.respond(second.spMetadata, request, { user: { nameId: "di@two.example" } }), RelayState: request.relayState };
    const before = await footprint(t, second);
    await expectRefused(t, second, await postToAcs(t, first.slug, form), before);
    expect(await newestEvent("sso.login.failed")).toMatchObject({ data: { connectionId: first.connectionId, reason: "signature_invalid" } });
  });
});

describe("single logout", () => {
  it("a LogoutRequest from the second IdP ends the sessions its logins made, and is answered at its SLO URL", async () => {
    const viaSecond = await signedIn(second, "fe@two.example", "idp2-fe");
    const otherUser = await signedIn(first, "gus@one.example", "idp1-gus");

    // The first IdP knows no session of that NameID here: nothing of the second connection's ends.
    expect((await deliver(first.idp.logoutRequest(first.spMetadata, { nameId: "fe@two.example" }, { binding: "redirect" }))).status).toBe(303);
    expect(await alive(viaSecond)).toBe(true);

    const request = second.idp.logoutRequest(second.spMetadata, { nameId: "fe@two.example" }, { binding: "post" });
    const res = await deliver(request);
    expect(res.status).toBe(303);
    const answer = await second.idp.parseLogoutResponse(String(res.headers.location), second.spMetadata);
    expect(answer).toMatchObject({ inResponseTo: request.id, destination: second.idp.sloUrl, status: "urn:oasis:names:tc:SAML:2.0:status:Success" });
    expect(await alive(viaSecond)).toBe(false);
    expect(await alive(otherUser)).toBe(true);
    expect(await newestEvent("session.revoked")).toMatchObject({
      actor: { type: "system", id: `sso_connection:${second.connectionId}` },
      data: { by: "idp", connectionId: second.connectionId, count: 1 },
    });
  });

  it("our LogoutRequest for a second-connection session goes to the second IdP, whose LogoutResponse is accepted", async () => {
    const browser = new CookieBrowser(t.app);
    const [name, value] = (await signedIn(second, "hal@two.example", "idp2-hal")).split("=") as [string, string];
    browser.cookies.set(name, value);
    await browser.get("/account");
    const out = await browser.post("/logout", {});
    expect(out.status).toBe(303);
    // parseLogoutRequest insists the message went to this IdP's SLO URL.
    const sent = await second.idp.parseLogoutRequest(String(out.headers.location), second.spMetadata);
    const res = await deliver(second.idp.logoutResponse(second.spMetadata, sent.id, { binding: "redirect" }));
    expect([res.status, res.headers.location]).toEqual([303, `/login?tenant=${first.slug}`]);
  });

  it("refuses a logout message from an IdP that is none of the tenant's, counted against the first connection", async () => {
    const stranger = new TestSamlIdp();
    const res = await deliver(stranger.logoutRequest(first.spMetadata, { nameId: "fe@two.example" }, { binding: "redirect" }));
    expect(res.status).toBe(400);
    expect((await logoutRefusals(t, first.tenantId)).at(-1)).toMatchObject({ target: { id: first.connectionId }, data: { reason: "issuer_mismatch" } });
  });
});
