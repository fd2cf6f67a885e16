// A validly signed assertion, encrypted to this SP, that was meant for someone else: another SP (Audience),
// another endpoint (Recipient), another IdP or connection (Issuer), another login (InResponseTo), or it is out
// of date. Every check on a plain assertion holds for the decrypted one: encryption is no reason to trust it more.
import type { TestApp } from "../support/harness";
import { tamper, type ResponseFields } from "../support/saml-idp";
import { expectRefused, failureReasons, footprint, idpAnswer, postToAcs, startSamlLogin, type SamlTenant, withJitSamlTenant } from "../support/saml-login";

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

const encryptedWith = (set: Partial<ResponseFields>, target: SamlTenant = tenant) =>
  idpAnswer(t, target, { user: { nameId: "victim@corp.example" }, set, encrypt: {} });

const MINUTE = 60 * 1000;

describe("a decrypted assertion meant for someone else", () => {
  it("refuses an assertion issued for another audience", async () => {
    // The IdP signed it for another SP; the attacker, who runs that SP, encrypts it to this one and forwards it.
    await refusedFor(tenant, await encryptedWith({ audience: "https://other-sp.example/metadata" }), "audience_mismatch");
  });

  it("refuses an assertion whose bearer confirmation names another ACS", async () => {
    // Same SP entity, another endpoint: only that endpoint may consume it.
    await refusedFor(tenant, await encryptedWith({ recipient: "https://other-sp.example/acs" }), "recipient_mismatch");
  });

  it("refuses an assertion from another issuer than the connection's", async () => {
    // The encrypted assertion names an IdP the connection does not trust, under the connection's own signature.
    await refusedFor(tenant, await encryptedWith({ issuer: "https://evil-idp.example/entity" }), "issuer_mismatch");
  });

  it("refuses an assertion whose signed InResponseTo answers another login", async () => {
    // The Response's InResponseTo was rewritten to a fresh flow; the one inside the encrypted assertion still names the old.
    const captured = await encryptedWith({});
    const location = await startSamlLogin(t, tenant.slug);
    const { requestId } = await tenant.idp.parseAuthnRequest(location, tenant.spMetadata);
    const rewritten = tamper(captured.SAMLResponse, (xml) => xml.replace(/(<samlp:Response [^>]*InResponseTo=")[^"]+"/, `$1${requestId}"`));
    await refusedFor(tenant, { SAMLResponse: rewritten }, "in_response_to_mismatch");
  });

  it("refuses an expired assertion", async () => {
    // A captured encrypted assertion, posted after its NotOnOrAfter.
    const past = Date.now() - 30 * MINUTE;
    await refusedFor(tenant, await encryptedWith({
      issueInstant: new Date(past), notBefore: new Date(past - MINUTE), notOnOrAfter: new Date(past + 5 * MINUTE),
      subjectNotOnOrAfter: new Date(past + 5 * MINUTE), authnInstant: new Date(past - MINUTE),
    }), "expired");
  });
});

