// Step-up through SSO: an app that asks for a second factor (acr_values=aal2) must not get aal2 from an IdP
// login that used one factor; Gatehouse adds its own TOTP (no skipping it), and an IdP's MFA is taken as is.
import { inflateRawSync } from "node:zlib";
import { DOMParser } from "@xmldom/xmldom";
import type { Configuration } from "openid-client";
import { oathtoolCode } from "../../support/browser";
import { CookieBrowser, STEP_MS } from "../../support/login-helpers";
import { enrolAndReturn, redeem, startProductAppFixture, type ProductAppFixture } from "../../support/product-app-login";
import { authorizationRequest, followWithinGatehouse, type RegisteredApp } from "../../support/relying-party";
import { failureReasons, setUpSamlTenant, type SamlTenant, type SamlTenantOptions } from "../../support/saml-login";

const MFA_CONTEXT = "https://refeds.org/profile/mfa";
const NO_AUTHN_CONTEXT = "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext";

let f: ProductAppFixture;

beforeAll(async () => {
  f = await startProductAppFixture();
});
afterAll(() => f.close());

/** A SAML tenant (MFA not required, users made at first login) and an app for it. */
async function samlTenantWithApp(options: Pick<SamlTenantOptions, "stepUpContexts"> = {}): Promise<{ tenant: SamlTenant; app: RegisteredApp; config: Configuration }> {
  const tenant = await setUpSamlTenant(f.t, { provisioning: "jit", ...options });
  return { tenant, ...(await f.app({ tenants: [tenant.slug] })) };
}

/**
 * The app sends the browser to Gatehouse, which sends it on to the IdP; the IdP signs `nameId` in (with
 * `authnContext`) and the browser posts its answer to the ACS. Returns the ACS response.
 */
async function throughIdp(
  browser: CookieBrowser,
  setup: { tenant: SamlTenant; app: RegisteredApp; config: Configuration },
  user: { nameId: string; authnContext?: string },
  extra: Record<string, string> = {},
) {
  const request = await authorizationRequest(setup.config, setup.app, extra);
  const toIdp = await followWithinGatehouse(browser, f.t.publicUrl, request.url);
  expect(toIdp.leftTo?.origin + toIdp.leftTo!.pathname).toBe(setup.tenant.idp.ssoUrl);
  const answer = await setup.tenant.idp.answer(toIdp.leftTo!.href, setup.tenant.spMetadata, { user: { ...user, attributes: { givenName: "Grace" } } });
  const acs = await browser.post(`/sso/${setup.tenant.slug}/saml/acs`, { SAMLResponse: answer.SAMLResponse, RelayState: answer.RelayState! }, { withCsrf: false });
  return { request, acs, authnRequest: authnRequestXml(toIdp.leftTo!) };
}

/** The AuthnRequest of an HTTP-Redirect URL, inflated (saml-bindings 3.4.4.1). */
function authnRequestXml(location: URL): string {
  return inflateRawSync(Buffer.from(location.searchParams.get("SAMLRequest") ?? "", "base64")).toString("utf8");
}

/** The AuthnContextClassRefs an AuthnRequest asks for, and how they are compared; null when it asks for none. */
function requestedContexts(xml: string): { comparison: string | null; classRefs: string[] } | null {
  const doc = new DOMParser().parseFromString(xml, "text/xml");
  const requested = doc.getElementsByTagNameNS("urn:oasis:names:tc:SAML:2.0:protocol", "RequestedAuthnContext")[0];
  if (!requested) return null;
  const classRefs = Array.from(requested.getElementsByTagNameNS("urn:oasis:names:tc:SAML:2.0:assertion", "AuthnContextClassRef")).map((node) => node.textContent ?? "");
  return { comparison: requested.getAttribute("Comparison"), classRefs };
}

/** The tenant's `sso.login.succeeded` rows, oldest first. */
async function ssoLogins(tenantId: string) {
  const rows = await f.t.container.infra.db.auditEvent.findMany({ where: { tenantId, type: "sso.login.succeeded" }, orderBy: { id: "asc" } });
  return rows.map((row) => row.data as Record<string, unknown>);
}

it("gives an app that asks for nothing in particular acr aal1 from an IdP login without MFA", async () => {
  const setup = await samlTenantWithApp();
  const browser = new CookieBrowser(f.t.app);
  const { request, acs } = await throughIdp(browser, setup, { nameId: "ada@saml.example" });
  expect(acs.status).toBe(303);
  expect(String(acs.headers.location)).toMatch(/^\/oidc\/interaction\//);

  const { leftTo } = await followWithinGatehouse(browser, f.t.publicUrl, String(acs.headers.location));
  const claims = (await redeem(setup.config, request, leftTo!)).claims()!;
  expect(claims).toMatchObject({ email: "ada@saml.example", acr: "aal1", amr: ["pwd"] });
});

it("adds the local TOTP to an IdP login without MFA when the app asks for aal2, without letting the user skip setting it up", async () => {
  const setup = await samlTenantWithApp();
  const browser = new CookieBrowser(f.t.app);
  const nameId = "grace@saml.example";
  const first = await throughIdp(browser, setup, { nameId });
  const aal1 = await followWithinGatehouse(browser, f.t.publicUrl, String(first.acs.headers.location));
  expect((await redeem(setup.config, first.request, aal1.leftTo!)).claims()).toMatchObject({ acr: "aal1" });
  expect(await ssoLogins(setup.tenant.tenantId)).toHaveLength(1);

  // A minute later the app asks for aal2: the aal1 session is not enough, so the browser goes back to the
  // IdP, which again uses one factor; the login is held for the local factor, not yet a login.
  f.clock.advance(60_000);
  const stepUp = await throughIdp(browser, setup, { nameId }, { acr_values: "aal2" });
  expect(stepUp.acs.status).toBe(303);
  expect(stepUp.acs.headers.location).toBe("/us/mfa/setup");
  expect(await ssoLogins(setup.tenant.tenantId)).toHaveLength(1);
  expect((await browser.get("/us/mfa/setup")).text).not.toContain("/us/mfa/setup/skip");

  const { secret, leftTo } = await enrolAndReturn(f, browser);
  const claims = (await redeem(setup.config, stepUp.request, leftTo)).claims()!;
  expect(claims).toMatchObject({ email: nameId, acr: "aal2" });
  expect(claims.amr).toEqual(expect.arrayContaining(["otp", "mfa"]));
  const logins = await ssoLogins(setup.tenant.tenantId);
  expect(logins).toHaveLength(2);
  expect(logins[1]).toMatchObject({ localSecondFactor: true, protocol: "saml" });

  // In another browser, the next aal2 request asks the enrolled user for a code, not for a new enrolment.
  const other = new CookieBrowser(f.t.app);
  const again = await throughIdp(other, setup, { nameId }, { acr_values: "aal2" });
  expect(again.acs.headers.location).toBe("/us/login/mfa");
  await other.get("/us/login/mfa");
  const mfa = await other.post("/us/login/mfa", { code: oathtoolCode(secret, f.clock.now()) });
  f.clock.advance(STEP_MS);
  expect(mfa.status).toBe(303);
  const back = await followWithinGatehouse(other, f.t.publicUrl, String(mfa.headers.location));
  expect((await redeem(setup.config, again.request, back.leftTo!)).claims()).toMatchObject({ acr: "aal2" });
});

it("does not ask again for a second factor the IdP reported", async () => {
  const setup = await samlTenantWithApp();
  const browser = new CookieBrowser(f.t.app);
  const nameId = "linus@saml.example";
  const { request, acs } = await throughIdp(browser, setup, { nameId, authnContext: MFA_CONTEXT }, { acr_values: "aal2" });
  expect(acs.status).toBe(303);
  expect(String(acs.headers.location)).toMatch(/^\/oidc\/interaction\//);
  expect(browser.cookies.has("gh_pending")).toBe(false);

  const { leftTo } = await followWithinGatehouse(browser, f.t.publicUrl, String(acs.headers.location));
  const claims = (await redeem(setup.config, request, leftTo!)).claims()!;
  expect(claims).toMatchObject({ email: nameId, acr: "aal2", amr: ["mfa"] });
  const user = await f.t.container.infra.db.user.findFirstOrThrow({ where: { tenantId: setup.tenant.tenantId, email: nameId } });
  expect(user.totpSecret).toBeNull();
  const logins = await ssoLogins(setup.tenant.tenantId);
  expect(logins).toHaveLength(1);
  expect(logins[0]).not.toHaveProperty("localSecondFactor");
});

describe("a connection that names its IdP's step-up contexts", () => {
  // An IdP's own name for its MFA login, not one of the contexts Gatehouse reads as MFA by itself.
  const STRONG = "urn:acme:idp:loa:strong";

  it("asks the IdP for them, exactly, when the app wants aal2, and takes an answer with one of them as the second factor", async () => {
    const setup = await samlTenantWithApp({ stepUpContexts: [STRONG] });
    const browser = new CookieBrowser(f.t.app);
    const nameId = "strong@saml.example";
    const { request, acs, authnRequest } = await throughIdp(browser, setup, { nameId, authnContext: STRONG }, { acr_values: "aal2" });
    expect(requestedContexts(authnRequest)).toEqual({ comparison: "exact", classRefs: [STRONG] });
    expect(String(acs.headers.location)).toMatch(/^\/oidc\/interaction\//);
    const { leftTo } = await followWithinGatehouse(browser, f.t.publicUrl, String(acs.headers.location));
    expect((await redeem(setup.config, request, leftTo!)).claims()).toMatchObject({ email: nameId, acr: "aal2", amr: expect.arrayContaining(["mfa"]) });
    const user = await f.t.container.infra.db.user.findFirstOrThrow({ where: { tenantId: setup.tenant.tenantId, email: nameId } });
    expect(user.totpSecret).toBeNull();
  });

  it("asks nothing when the app does not want aal2, and nothing of a connection that names none", async () => {
    const named = await samlTenantWithApp({ stepUpContexts: [STRONG] });
    expect(requestedContexts((await throughIdp(new CookieBrowser(f.t.app), named, { nameId: "plain@saml.example" })).authnRequest)).toBeNull();
    const unnamed = await samlTenantWithApp();
    const asked = await throughIdp(new CookieBrowser(f.t.app), unnamed, { nameId: "unnamed@saml.example", authnContext: STRONG }, { acr_values: "aal2" });
    expect(requestedContexts(asked.authnRequest)).toBeNull();
    // Not named by this connection, and not one of the built-in MFA contexts: held for the local TOTP.
    expect(asked.acs.headers.location).toBe("/us/mfa/setup");
  });

  it("holds the login for the local TOTP when the IdP answers with another context", async () => {
    const setup = await samlTenantWithApp({ stepUpContexts: [STRONG] });
    const { acs } = await throughIdp(new CookieBrowser(f.t.app), setup, { nameId: "password-only@saml.example" }, { acr_values: "aal2" });
    expect(acs.status).toBe(303);
    expect(acs.headers.location).toBe("/us/mfa/setup");
  });

  it("starts the login over without them when the IdP cannot give them (NoAuthnContext), then holds it for the local TOTP", async () => {
    const setup = await samlTenantWithApp({ stepUpContexts: [STRONG] });
    const browser = new CookieBrowser(f.t.app);
    const nameId = "no-context@saml.example";
    const request = await authorizationRequest(setup.config, setup.app, { acr_values: "aal2" });
    const toIdp = (await followWithinGatehouse(browser, f.t.publicUrl, request.url)).leftTo!;
    expect(requestedContexts(authnRequestXml(toIdp))?.classRefs).toEqual([STRONG]);

    const refusal = await setup.tenant.idp.refuse(toIdp.href, setup.tenant.spMetadata, NO_AUTHN_CONTEXT);
    const restarted = await browser.post(`/sso/${setup.tenant.slug}/saml/acs`, { SAMLResponse: refusal.SAMLResponse, RelayState: refusal.RelayState! }, { withCsrf: false });
    expect(restarted.status).toBe(303);
    const again = new URL(String(restarted.headers.location));
    expect(again.origin + again.pathname).toBe(setup.tenant.idp.ssoUrl);
    expect(requestedContexts(authnRequestXml(again))).toBeNull();
    // Not a failure of the connection: nothing counts towards its health.
    expect(await failureReasons(f.t, setup.tenant.tenantId)).toEqual([]);

    const answer = await setup.tenant.idp.answer(again.href, setup.tenant.spMetadata, { user: { nameId, attributes: { givenName: "Grace" } } });
    const acs = await browser.post(`/sso/${setup.tenant.slug}/saml/acs`, { SAMLResponse: answer.SAMLResponse, RelayState: answer.RelayState! }, { withCsrf: false });
    expect(acs.status).toBe(303);
    expect(acs.headers.location).toBe("/us/mfa/setup");
    expect(await ssoLogins(setup.tenant.tenantId)).toHaveLength(0);
    const { leftTo } = await enrolAndReturn(f, browser);
    expect((await redeem(setup.config, request, leftTo)).claims()).toMatchObject({ email: nameId, acr: "aal2" });
  });

  it("does not start over a login that asked the IdP for nothing: NoAuthnContext is then a refusal", async () => {
    const setup = await samlTenantWithApp({ stepUpContexts: [STRONG] });
    const browser = new CookieBrowser(f.t.app);
    // The app does not want aal2, so nothing was asked; an IdP that answers NoAuthnContext anyway is refused.
    const request = await authorizationRequest(setup.config, setup.app);
    const toIdp = (await followWithinGatehouse(browser, f.t.publicUrl, request.url)).leftTo!;
    const refusal = await setup.tenant.idp.refuse(toIdp.href, setup.tenant.spMetadata, NO_AUTHN_CONTEXT);
    const acs = await browser.post(`/sso/${setup.tenant.slug}/saml/acs`, { SAMLResponse: refusal.SAMLResponse, RelayState: refusal.RelayState! }, { withCsrf: false });
    expect(acs.status).toBe(400);
    expect(acs.headers.location).toBeUndefined();
    expect(await failureReasons(f.t, setup.tenant.tenantId)).toEqual(["step_up_unavailable"]);
  });

  it("does not start over for another refusal of the IdP", async () => {
    const setup = await samlTenantWithApp({ stepUpContexts: [STRONG] });
    const browser = new CookieBrowser(f.t.app);
    const request = await authorizationRequest(setup.config, setup.app, { acr_values: "aal2" });
    const toIdp = (await followWithinGatehouse(browser, f.t.publicUrl, request.url)).leftTo!;
    const refusal = await setup.tenant.idp.refuse(toIdp.href, setup.tenant.spMetadata, "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed");
    const acs = await browser.post(`/sso/${setup.tenant.slug}/saml/acs`, { SAMLResponse: refusal.SAMLResponse, RelayState: refusal.RelayState! }, { withCsrf: false });
    expect(acs.status).toBe(400);
    expect(await failureReasons(f.t, setup.tenant.tenantId)).toEqual(["idp_status"]);
  });
});
