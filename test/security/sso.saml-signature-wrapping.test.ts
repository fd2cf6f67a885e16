// XML signature wrapping (XSW): the attacker keeps a genuinely signed assertion somewhere in the document,
// so the signature still verifies, and puts a forged assertion where the service reads the user from.
import type { TestApp } from "../support/harness";
import { decodeResponse, tamper } from "../support/saml-idp";
import { expectRefused, footprint, idpAnswer, postToAcs, type SamlTenant, withJitSamlTenant } from "../support/saml-login";

let t: TestApp;
let tenant: SamlTenant;
withJitSamlTenant((app, created) => {
  [t, tenant] = [app, created];
});

const ASSERTION = /<saml:Assertion[\s\S]*<\/saml:Assertion>/;
const SIGNATURE = /<ds:Signature[\s\S]*?<\/ds:Signature>/;

/** A genuine signed response for the attacker's own account, and the assertion inside it. */
async function genuine(): Promise<{ form: { SAMLResponse: string; RelayState?: string }; original: string }> {
  const form = await idpAnswer(t, tenant, { user: { nameId: "attacker@corp.example" } });
  return { form, original: ASSERTION.exec(decodeResponse(form.SAMLResponse))![0] };
}

/** The forged twin: another user, another ID, no signature of its own. */
function forgedFrom(original: string, id = "_forged0001"): string {
  return original.replace(SIGNATURE, "").replace(/ ID="[^"]+"/, ` ID="${id}"`).replaceAll("attacker@corp.example", "ceo@corp.example");
}

async function refused(form: { SAMLResponse: string; RelayState?: string }): Promise<void> {
  const before = await footprint(t, tenant);
  await expectRefused(t, tenant, await postToAcs(t, tenant.slug, form), before);
}

describe("assertion wrapped outside the signed element", () => {
  it("refuses a forged assertion placed before the signed one", async () => {
    // Two assertions: a naive SP verifies the signed one and reads the first.
    const { form, original } = await genuine();
    form.SAMLResponse = tamper(form.SAMLResponse, (xml) => xml.replace(ASSERTION, forgedFrom(original) + original));
    await refused(form);
  });

  it("refuses a forged assertion whose signed original is hidden in samlp:Extensions", async () => {
    // The signature still verifies (its reference finds the original by ID); the Response's assertion is the forgery.
    const { form, original } = await genuine();
    form.SAMLResponse = tamper(form.SAMLResponse, (xml) =>
      xml.replace(ASSERTION, forgedFrom(original)).replace("<samlp:Status>", `<samlp:Extensions>${original}</samlp:Extensions><samlp:Status>`));
    await refused(form);
  });

  it("refuses a forged assertion carrying the original's signature, with the original inside it", async () => {
    // The forgery borrows the ds:Signature whose Reference points at the original, nested in the forgery's Subject.
    const { form, original } = await genuine();
    const signature = SIGNATURE.exec(original)![0];
    const forged = forgedFrom(original).replace("</saml:Issuer>", `</saml:Issuer>${signature}`)
      .replace("</saml:Subject>", `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:sender-vouches"><saml:SubjectConfirmationData>${original}</saml:SubjectConfirmationData></saml:SubjectConfirmation></saml:Subject>`);
    form.SAMLResponse = tamper(form.SAMLResponse, (xml) => xml.replace(ASSERTION, forged));
    await refused(form);
  });

  it("refuses a forged assertion that reuses the signed assertion's ID", async () => {
    // Same ID twice: an ID lookup may land on either element.
    const { form, original } = await genuine();
    const id = / ID="([^"]+)"/.exec(original)![1]!;
    form.SAMLResponse = tamper(form.SAMLResponse, (xml) =>
      xml.replace(ASSERTION, forgedFrom(original, id)).replace("<samlp:Status>", `<samlp:Extensions>${original}</samlp:Extensions><samlp:Status>`));
    await refused(form);
  });
});
