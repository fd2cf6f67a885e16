// A validly signed response that was meant for someone else: another SP (Audience), another endpoint
// (Recipient, Destination), another IdP (Issuer), or another tenant of this service. An attacker who runs
// any SP trusted by the same IdP collects such responses and replays them here.
import type { TestApp } from "../support/harness";
import { TestSamlIdp, type ResponseFields } from "../support/saml-idp";
import { expectRefused, failureReasons, footprint, idpAnswer, postToAcs, setUpSamlTenant, startSamlLogin, type SamlTenant, withJitSamlTenant } from "../support/saml-login";

let t: TestApp;
let tenant: SamlTenant;
withJitSamlTenant((app, created) => {
  [t, tenant] = [app, created];
});

async function refusedFor(target: SamlTenant, form: { SAMLResponse: string; RelayState?: string }, reason: string): Promise<void> {
  const before = await footprint(t, target);
  await expectRefused(t, target, await postToAcs(t, target.slug, form), before);
  expect((await failureReasons(t, target.tenantId)).at(-1)).toBe(reason);
}

const signedWith = (set: Partial<ResponseFields>, sign: "assertion" | "both" = "assertion") =>
  idpAnswer(t, tenant, { user: { nameId: "victim@corp.example" }, set, sign });

describe("wrong Audience", () => {
  it("refuses an assertion issued for another service provider", async () => {
    // The IdP signed it for https://other-sp.example; the attacker, who runs that SP, forwards it here.
    await refusedFor(tenant, await signedWith({ audience: "https://other-sp.example/metadata" }), "audience_mismatch");
  });
});

describe("wrong Recipient", () => {
  it("refuses an assertion whose bearer confirmation names another ACS", async () => {
    // Same SP entity, but the IdP delivered it to another endpoint: only that endpoint may consume it.
    await refusedFor(tenant, await signedWith({ recipient: "https://other-sp.example/acs" }), "recipient_mismatch");
  });
});

describe("wrong Destination", () => {
  it("refuses a signed Response addressed to another endpoint", async () => {
    // The Response (signed as a whole) says where it was meant to go; here is not there.
    await refusedFor(tenant, await signedWith({ destination: "https://other-sp.example/acs" }, "both"), "destination_mismatch");
  });

  it("refuses a Response without a Destination", async () => {
    // No Destination at all: nothing ties the message to this ACS.
    await refusedFor(tenant, await signedWith({ destination: null }), "destination_mismatch");
  });
});

describe("wrong Issuer", () => {
  it("refuses an assertion issued by another entity, although signed with the connection's key", async () => {
    // An IdP hosting several entities with one key: the entity ID must be the connection's.
    await refusedFor(tenant, await signedWith({ issuer: "https://idp.other-tenant.example/entity", responseIssuer: null }), "issuer_mismatch");
  });

  it("refuses a Response whose own Issuer differs from its assertion's", async () => {
    // The envelope claims another IdP than the one configured.
    await refusedFor(tenant, await signedWith({ responseIssuer: "https://idp.other-tenant.example/entity" }, "both"), "issuer_mismatch");
  });
});

describe("tenant A's response posted to tenant B's ACS", () => {
  it("refuses it at B, although both tenants trust the same IdP", async () => {
    // Tenant A's admin controls A's users at the shared IdP and wants a session in tenant B.
    const a = await setUpSamlTenant(t, { idp: tenant.idp, provisioning: "jit" });
    const b = await setUpSamlTenant(t, { idp: tenant.idp, provisioning: "jit", allowIdpInitiated: true });
    const solicited = await idpAnswer(t, a, { user: { nameId: "someone@a.example" } });
    await refusedFor(b, solicited, "unknown_in_response_to");
    // Unsolicited, where B accepts IdP-initiated logins: the audience is still A's.
    const unsolicited = { SAMLResponse: await a.idp.respond(a.spMetadata, null, { user: { nameId: "someone@a.example" } }) };
    await refusedFor(b, unsolicited, "audience_mismatch");
    // A itself still takes its own response: the refusals above were about the tenant.
    expect((await postToAcs(t, a.slug, solicited)).status).toBe(303);
  });
});

describe("an IdP that is not the connection's", () => {
  it("refuses a response from another IdP, signed with that IdP's own valid key", async () => {
    // Another tenant's IdP (a real, trusted-elsewhere key) answers for this tenant.
    const stranger = new TestSamlIdp();
    const request = await tenant.idp.parseAuthnRequest(await startSamlLogin(t, tenant.slug), tenant.spMetadata);
    const form = { SAMLResponse: await stranger.respond(tenant.spMetadata, request, { user: { nameId: "victim@corp.example" } }) };
    await refusedFor(tenant, form, "signature_invalid");
  });
});
