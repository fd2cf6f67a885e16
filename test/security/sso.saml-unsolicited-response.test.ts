// Unsolicited (IdP-initiated) responses answer no request of ours, so nothing ties them to the browser that
// posts them (login CSRF, injected sessions). They are refused unless the connection allows IdP-initiated
// login, and a solicited assertion cannot be passed off as an unsolicited one.
import { startTestApp, type TestApp } from "../support/harness";
import { tamper } from "../support/saml-idp";
import { expectRefused, failureReasons, footprint, idpAnswer, postToAcs, setUpSamlTenant, type SamlTenant } from "../support/saml-login";

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

async function refusedFor(tenant: SamlTenant, form: { SAMLResponse: string; RelayState?: string }, reason: string): Promise<void> {
  const before = await footprint(t, tenant);
  await expectRefused(t, tenant, await postToAcs(t, tenant.slug, form), before);
  expect((await failureReasons(t, tenant.tenantId)).at(-1)).toBe(reason);
}

describe("unsolicited response with IdP-initiated off", () => {
  it("refuses a validly signed response that answers no request", async () => {
    // The attacker has the IdP issue a response for their own account and makes the victim's browser post it.
    const tenant = await setUpSamlTenant(t, { provisioning: "jit" });
    const form = { SAMLResponse: await tenant.idp.respond(tenant.spMetadata, null, { user: { nameId: "attacker@corp.example" } }), RelayState: "/account" };
    await refusedFor(tenant, form, "unsolicited");
  });
});

describe("a solicited assertion passed off as unsolicited", () => {
  it("refuses it when the Response's InResponseTo was removed, even with IdP-initiated on", async () => {
    // The Response is not signed, so its InResponseTo can go; the signed confirmation still names the request.
    const tenant = await setUpSamlTenant(t, { provisioning: "jit", allowIdpInitiated: true });
    const form = await idpAnswer(t, tenant, { user: { nameId: "victim@corp.example" } });
    form.SAMLResponse = tamper(form.SAMLResponse, (xml) => xml.replace(/(<samlp:Response[^>]*?) InResponseTo="[^"]+"/, "$1"));
    await refusedFor(tenant, { SAMLResponse: form.SAMLResponse }, "in_response_to_mismatch");
  });
});
