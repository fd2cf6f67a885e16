// An attacker makes a victim's browser (or their own) deliver a LogoutRequest to the SP's SLO endpoint — unsigned, signed with their own key, signed with SHA-1, replayed or meant for another SP — to end the victim's sessions at will.
import supertest from "supertest";
import { startTestApp, type TestApp } from "../support/harness";
import { createUser } from "../support/login-helpers";
import { RSA_SHA1, TestSamlIdp, type LogoutDelivery } from "../support/saml-idp";
import { idpAnswer, logoutRefusals, postToAcs, sessionCookieOf, setUpSamlTenant, type SamlTenant } from "../support/saml-login";

let t: TestApp;
let tenant: SamlTenant;
let victim: string;
const forger = new TestSamlIdp();

beforeAll(async () => {
  t = await startTestApp();
  tenant = await setUpSamlTenant(t);
  await createUser(t, tenant.slug, { email: "victim@corp.example", kind: "member" });
  const login = await postToAcs(t, tenant.slug, await idpAnswer(t, tenant, { user: { nameId: "victim@corp.example", sessionIndex: "idp-victim" } }));
  victim = sessionCookieOf(login)!;
});
afterAll(() => t.close());

function deliver(message: LogoutDelivery, slug = tenant.slug): supertest.Test {
  if (message.form) return supertest(t.app).post(`/sso/${slug}/saml/slo`).type("form").set("Accept", "text/html").send(message.form);
  const url = new URL(message.url!);
  return supertest(t.app).get(url.pathname + url.search).set("Accept", "text/html");
}

/**
 * A 4xx page, no redirect to the IdP, the victim's session still alive, and one audit row for the refusal
 * with its reason, counted against the connection: the facts only, nothing of the forged message.
 */
async function expectNoLogout(message: LogoutDelivery, reason: string): Promise<void> {
  const before = (await logoutRefusals(t, tenant.tenantId)).length;
  const res = await deliver(message);
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  expect(res.headers.location).toBeUndefined();
  expect((await supertest(t.app).get("/authz").set("Cookie", victim)).status).toBe(200);
  const refusals = await logoutRefusals(t, tenant.tenantId);
  expect(refusals).toHaveLength(before + 1);
  expect(refusals.at(-1)).toEqual({
    actorType: "anonymous",
    target: { type: "sso_connection", id: tenant.connectionId },
    data: { connectionId: tenant.connectionId, protocol: "saml", reason, message: "LogoutRequest", binding: message.form ? "post" : "redirect" },
  });
}

const about = { nameId: "victim@corp.example" };

describe.each(["redirect", "post"] as const)("forged LogoutRequest over HTTP-%s", (binding) => {
  it("ends no session when unsigned", async () => {
    const message = tenant.idp.logoutRequest(tenant.spMetadata, about, { binding, sign: false });
    if (binding === "redirect") expect(new URL(message.url!).searchParams.has("Signature")).toBe(false);
    await expectNoLogout(message, "unsigned");
  });

  it("ends no session when signed with a key other than the connection's", async () => {
    await expectNoLogout(tenant.idp.logoutRequest(tenant.spMetadata, about, { binding, signer: forger }), "signature_invalid");
  });

  it("ends no session when signed with RSA-SHA1", async () => {
    await expectNoLogout(tenant.idp.logoutRequest(tenant.spMetadata, about, { binding, signatureAlgorithm: RSA_SHA1 }), "weak_signature_algorithm");
  });
});

describe("genuine LogoutRequests that must still be refused", () => {
  it("refuses one whose signed content was altered after signing (HTTP-Redirect)", async () => {
    // The attacker swaps the signed message for another one, keeping the IdP's signature.
    const genuine = new URL(tenant.idp.logoutRequest(tenant.spMetadata, { nameId: "someone-else@corp.example" }, { binding: "redirect" }).url!);
    const other = new URL(tenant.idp.logoutRequest(tenant.spMetadata, about, { binding: "redirect", sign: false }).url!);
    genuine.searchParams.set("SAMLRequest", other.searchParams.get("SAMLRequest")!);
    await expectNoLogout({ id: "", url: genuine.toString() }, "signature_invalid");
  });

  it("refuses one addressed to another SP (Destination)", async () => {
    await expectNoLogout(tenant.idp.logoutRequest(tenant.spMetadata, about, { binding: "redirect", set: { destination: "https://other-sp.example/slo" } }), "destination_mismatch");
  });

  it("refuses one from another issuer, signed with the connection's key", async () => {
    await expectNoLogout(tenant.idp.logoutRequest(tenant.spMetadata, about, { binding: "post", set: { issuer: "https://someone-else.example/idp" } }), "issuer_mismatch");
  });

  it("refuses one past its NotOnOrAfter", async () => {
    // Issued recently enough, but its own deadline (beyond the clock skew allowed) has passed.
    const now = Date.now();
    await expectNoLogout(tenant.idp.logoutRequest(tenant.spMetadata, about, { binding: "redirect", set: { issueInstant: new Date(now - 4 * 60_000), notOnOrAfter: new Date(now - 3 * 60_000) } }), "expired");
  });

  it("accepts a request once: its replay ends no session made after it", async () => {
    const other = await setUpSamlTenant(t);
    await createUser(t, other.slug, { email: "again@corp.example", kind: "member" });
    const login = async () => sessionCookieOf(await postToAcs(t, other.slug, await idpAnswer(t, other, { user: { nameId: "again@corp.example" } })))!;
    const first = await login();
    const request = other.idp.logoutRequest(other.spMetadata, { nameId: "again@corp.example" }, { binding: "redirect" });
    expect((await deliver(request, other.slug)).status).toBe(303);
    expect((await supertest(t.app).get("/authz").set("Cookie", first)).status).toBe(401);

    const second = await login();
    const replay = await deliver(request, other.slug);
    expect(replay.status).toBe(400);
    expect((await supertest(t.app).get("/authz").set("Cookie", second)).status).toBe(200);
    expect((await logoutRefusals(t, other.tenantId)).map((refusal) => [refusal.data.reason, refusal.target.id])).toEqual([["replayed", other.connectionId]]);
  });
});
