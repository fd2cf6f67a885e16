// An attacker who holds the signing key of one of a tenant's two IdPs writes the other IdP's entity ID into the Issuer, so that the message is taken as the other connection's: to sign in as its users, under its policy (IdP-initiated, JIT), or to end its sessions.
import supertest from "supertest";
import { startTestApp, type TestApp } from "../support/harness";
import { createUser } from "../support/login-helpers";
import { TestSamlIdp, type LogoutDelivery } from "../support/saml-idp";
import {
  addSamlConnection, expectRefused, failureReasons, footprint, logoutRefusals, postToAcs, sessionCookieOf, setUpSamlTenant, type SamlTenant,
} from "../support/saml-login";

let t: TestApp;
/** The connection the attacker's IdP serves: no IdP-initiated login there. */
let first: SamlTenant;
/** The connection they want to pass as: IdP-initiated and JIT on, and the victim's sessions come from it. */
let second: SamlTenant;
let victim: string;

beforeAll(async () => {
  t = await startTestApp();
  first = await setUpSamlTenant(t, { provisioning: "jit" });
  second = await addSamlConnection(t, first, { allowIdpInitiated: true, provisioning: "jit" });
  await createUser(t, first.slug, { email: "victim@corp.example", kind: "member" });
  const login = await postToAcs(t, first.slug, { SAMLResponse: await second.idp.respond(second.spMetadata, null, { user: { nameId: "victim@corp.example" } }) });
  victim = sessionCookieOf(login)!;
});
afterAll(() => t.close());

/** Refused: a 4xx page, no session, no user or identity made, and the refusal counted against the connection claimed. */
async function expectRefusedAs(claimed: SamlTenant, form: { SAMLResponse: string }, reason: string): Promise<void> {
  const before = await footprint(t, claimed);
  await expectRefused(t, claimed, await postToAcs(t, claimed.slug, form), before);
  expect((await failureReasons(t, claimed.tenantId)).at(-1)).toBe(reason);
  const row = await t.container.infra.db.auditEvent.findFirst({ where: { tenantId: claimed.tenantId, type: "sso.login.failed" }, orderBy: { id: "desc" } });
  expect(row?.data).toMatchObject({ connectionId: claimed.connectionId });
}

describe("an unsolicited response that claims the other IdP", () => {
  it("is refused when both Issuers name the second IdP but the first IdP signed it", async () => {
    const issuer = second.idp.entityId;
    const forged = await first.idp.respond(first.spMetadata, null, { user: { nameId: "victim@corp.example" }, set: { issuer, responseIssuer: issuer } });
    await expectRefusedAs(second, { SAMLResponse: forged }, "signature_invalid");
  });

  it("is refused when only the Response's Issuer names the second IdP", async () => {
    // The assertion (signed by the first IdP) says who really issued it; the envelope says otherwise.
    const forged = await first.idp.respond(first.spMetadata, null, { user: { nameId: "mallory@corp.example" }, set: { responseIssuer: second.idp.entityId } });
    await expectRefusedAs(second, { SAMLResponse: forged }, "signature_invalid");
  });

  it("is refused when the two IdPs share a key but the signed assertion names the first", async () => {
    // One IdP product hosting both entities with one key: the key verifies, the signed Issuer must match too.
    const shared = new TestSamlIdp(undefined, first.idp.keys);
    const tenant = await setUpSamlTenant(t, { idp: first.idp, provisioning: "jit" });
    const claimed = await addSamlConnection(t, tenant, { idp: shared, allowIdpInitiated: true, provisioning: "jit" });
    const forged = await first.idp.respond(tenant.spMetadata, null, { user: { nameId: "mallory@corp.example" }, set: { responseIssuer: shared.entityId } });
    await expectRefusedAs(claimed, { SAMLResponse: forged }, "issuer_mismatch");
  });
});

describe.each(["redirect", "post"] as const)("a LogoutRequest that claims the other IdP (HTTP-%s)", (binding) => {
  function deliver(message: LogoutDelivery): supertest.Test {
    if (message.form) return supertest(t.app).post(`/sso/${first.slug}/saml/slo`).type("form").set("Accept", "text/html").send(message.form);
    const url = new URL(message.url!);
    return supertest(t.app).get(url.pathname + url.search).set("Accept", "text/html");
  }

  it("ends none of the victim's sessions when the first IdP signed it", async () => {
    const forged = first.idp.logoutRequest(first.spMetadata, { nameId: "victim@corp.example" }, { binding, set: { issuer: second.idp.entityId } });
    const res = await deliver(forged);
    expect(res.status).toBe(400);
    expect(res.headers.location).toBeUndefined();
    expect((await supertest(t.app).get("/authz").set("Cookie", victim)).status).toBe(200);
    expect((await logoutRefusals(t, first.tenantId)).at(-1)).toEqual({
      actorType: "anonymous",
      target: { type: "sso_connection", id: second.connectionId },
      data: { connectionId: second.connectionId, protocol: "saml", reason: "signature_invalid", message: "LogoutRequest", binding },
    });
  });
});
