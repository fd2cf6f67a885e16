// An attacker who can make or capture a SAML response changes who it speaks for: edits the NameID or the
// email after signing, or signs a forged response with a key of their own and ships its certificate in
// KeyInfo, hoping the service trusts the key the message brings.
import type { TestApp } from "../support/harness";
import { decodeResponse, makeIdpKeys, NAMEID_PERSISTENT, tamper, TestSamlIdp } from "../support/saml-idp";
import { expectRefused, failureReasons, footprint, idpAnswer, postToAcs, type SamlTenant, withJitSamlTenant } from "../support/saml-login";

let t: TestApp;
let tenant: SamlTenant;
withJitSamlTenant((app, created) => {
  [t, tenant] = [app, created];
});

async function refusedFor(form: { SAMLResponse: string; RelayState?: string }, reason: string): Promise<void> {
  const before = await footprint(t, tenant);
  await expectRefused(t, tenant, await postToAcs(t, tenant.slug, form), before);
  expect((await failureReasons(t, tenant.tenantId)).at(-1)).toBe(reason);
}

describe("NameID changed after signing", () => {
  it("refuses an assertion whose NameID was edited", async () => {
    // A legitimate user captures their own signed response and swaps their NameID for the CEO's.
    const form = await idpAnswer(t, tenant, { user: { nameId: "intern@corp.example" } });
    form.SAMLResponse = tamper(form.SAMLResponse, (xml) => xml.replace(">intern@corp.example<", ">ceo@corp.example<"));
    expect(decodeResponse(form.SAMLResponse)).toContain(">ceo@corp.example<");
    await refusedFor(form, "signature_invalid");
  });

  it("refuses the same edit when the Response is signed as well", async () => {
    // Same attack on an IdP that signs both levels.
    const form = await idpAnswer(t, tenant, { user: { nameId: "intern@corp.example" }, sign: "both" });
    form.SAMLResponse = tamper(form.SAMLResponse, (xml) => xml.replace(">intern@corp.example<", ">ceo@corp.example<"));
    await refusedFor(form, "signature_invalid");
  });

  it("refuses an assertion whose email attribute was edited", async () => {
    // The NameID is opaque; the attacker targets the attribute the email is taken from.
    const form = await idpAnswer(t, tenant, { user: { nameId: "00u-intern", nameIdFormat: NAMEID_PERSISTENT, attributes: { email: "intern@corp.example" } } });
    form.SAMLResponse = tamper(form.SAMLResponse, (xml) => xml.replace(">intern@corp.example<", ">ceo@corp.example<"));
    await refusedFor(form, "signature_invalid");
  });

  it("refuses an edit hidden in an XML comment inside the NameID", async () => {
    // Canonicalisation drops comments: "ceo@corp.example<!---->.evil" must not read as the CEO once verified.
    const form = await idpAnswer(t, tenant, { user: { nameId: "ceo@corp.example.evil" } });
    form.SAMLResponse = tamper(form.SAMLResponse, (xml) => xml.replace(">ceo@corp.example.evil<", ">ceo@corp.example<!---->.evil<"));
    const res = await postToAcs(t, tenant.slug, form);
    // The signature covers the text without the comment, and the service reads the text it verified:
    // the login is the one the IdP signed for, never the CEO.
    expect(res.status).toBe(303);
    const emails = (await t.container.infra.db.user.findMany({ where: { tenantId: tenant.tenantId } })).map((u) => u.email);
    expect(emails).toContain("ceo@corp.example.evil");
    expect(emails).not.toContain("ceo@corp.example");
  });
});

describe("signed by an unknown key with its certificate in KeyInfo", () => {
  it("refuses a response signed by a forger's key, although KeyInfo carries the matching certificate", async () => {
    // The attacker knows the IdP's entity ID, signs with their own key and embeds their own certificate.
    const forger = new TestSamlIdp(tenant.idp.entityId, makeIdpKeys("forger"));
    const form = await idpAnswer(t, tenant, { user: { nameId: "ceo@corp.example" }, signer: forger });
    const certificateBody = forger.certificate.replace(/-----[A-Z ]+-----|\s+/g, "");
    expect(decodeResponse(form.SAMLResponse).replace(/\s+/g, "")).toContain(certificateBody);
    await refusedFor(form, "signature_invalid");
  });

  it("refuses it when the forger signs the Response too", async () => {
    // Both signatures by the forger: neither may count.
    const forger = new TestSamlIdp(tenant.idp.entityId, makeIdpKeys("forger"));
    await refusedFor(await idpAnswer(t, tenant, { user: { nameId: "ceo@corp.example" }, signer: forger, sign: "both" }), "signature_invalid");
  });
});
