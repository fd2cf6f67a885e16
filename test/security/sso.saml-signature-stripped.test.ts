// An attacker edits a SAML response and removes or breaks its signatures, hoping the service accepts
// whatever is left unsigned. The assertion must carry a valid signature; a Response signature, when there
// is one, must verify too.
import type { TestApp } from "../support/harness";
import { tamper } from "../support/saml-idp";
import { expectRefused, failureReasons, footprint, idpAnswer, postToAcs, type SamlTenant, withJitSamlTenant } from "../support/saml-login";

let t: TestApp;
let tenant: SamlTenant;
withJitSamlTenant((app, created) => {
  [t, tenant] = [app, created];
});

const SIGNATURE = /<ds:Signature[\s\S]*?<\/ds:Signature>/g;

async function refused(form: { SAMLResponse: string; RelayState?: string }): Promise<void> {
  const before = await footprint(t, tenant);
  await expectRefused(t, tenant, await postToAcs(t, tenant.slug, form), before);
}

describe("signature stripped", () => {
  it("refuses an assertion whose signature was removed", async () => {
    // The attacker drops the ds:Signature and changes the user, counting on an SP that only checks signatures that are present.
    const form = await idpAnswer(t, tenant, { user: { nameId: "mallory@corp.example" } });
    form.SAMLResponse = tamper(form.SAMLResponse, (xml) => xml.replace(SIGNATURE, "").replace("mallory@corp.example", "ceo@corp.example"));
    await refused(form);
    expect((await failureReasons(t, tenant.tenantId)).at(-1)).toBe("signature_invalid");
  });

  it("refuses a response that was never signed at all", async () => {
    // The attacker writes the whole response by hand: no key, no signature.
    await refused(await idpAnswer(t, tenant, { user: { nameId: "forged@corp.example" }, sign: "none" }));
  });

  it("refuses a response signed only as a whole, its assertion unsigned", async () => {
    // Some SPs take a signed Response as enough; the contract wants the assertion itself signed.
    await refused(await idpAnswer(t, tenant, { user: { nameId: "envelope@corp.example" }, sign: "response" }));
  });

  it("refuses a validly signed assertion inside a Response whose own signature is broken", async () => {
    // The Response signature fails (the attacker altered the envelope); a correct assertion signature does not excuse it.
    const form = await idpAnswer(t, tenant, { user: { nameId: "wrapped@corp.example" }, sign: "both" });
    const signed = form.SAMLResponse;
    // The first SignatureValue is the Response's: its signature follows the Response's Issuer, before the assertion.
    form.SAMLResponse = tamper(signed, (xml) => xml.replace(/<ds:SignatureValue>(.{8})/, "<ds:SignatureValue>AAAAAAAA"));
    expect(form.SAMLResponse).not.toBe(signed);
    await refused(form);
    expect((await failureReasons(t, tenant.tenantId)).at(-1)).toBe("signature_invalid");
  });

  it("records every refusal as sso.login.failed with its reason, readable through the audit API", async () => {
    // An administrator investigating a burst of forged logins sees each one and why it failed.
    const form = await idpAnswer(t, tenant, { user: { nameId: "audit@corp.example" } });
    form.SAMLResponse = tamper(form.SAMLResponse, (xml) => xml.replace(SIGNATURE, ""));
    await refused(form);
    const res = await t.api().get(`/api/v1/tenants/${tenant.slug}/audit-events`).query({ type: "sso.login.failed" }).expect(200);
    expect(res.body.items[0]).toMatchObject({
      type: "sso.login.failed",
      target: { type: "sso_connection", id: tenant.connectionId },
      data: { connectionId: tenant.connectionId, protocol: "saml", reason: "signature_invalid" },
    });
    expect(res.body.items.length).toBeGreaterThanOrEqual(5);
  });
});
