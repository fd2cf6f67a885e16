// A product app signs in a user whose tenant uses SAML single sign-on: the interaction sends the browser
// through /login to the tenant's IdP (a real samlify IdP), and the ACS brings it back to finish the
// authorization with an OpenID Connect code.
import { CookieBrowser } from "../../support/login-helpers";
import { redeem, startProductAppFixture, type ProductAppFixture } from "../../support/product-app-login";
import { authorizationRequest, followWithinGatehouse } from "../../support/relying-party";
import { setUpSamlTenant } from "../../support/saml-login";

let f: ProductAppFixture;

beforeAll(async () => {
  f = await startProductAppFixture();
});
afterAll(() => f.close());

it("turns a SAML login into an ID token for the app", async () => {
  const tenant = await setUpSamlTenant(f.t, { provisioning: "jit" });
  const { app, config } = await f.app({ tenants: [tenant.slug] });
  const browser = new CookieBrowser(f.t.app);
  const request = await authorizationRequest(config, app);
  const toIdp = await followWithinGatehouse(browser, f.t.publicUrl, request.url);
  expect(toIdp.leftTo?.origin + toIdp.leftTo!.pathname).toBe(tenant.idp.ssoUrl);

  const answer = await tenant.idp.answer(toIdp.leftTo!.href, tenant.spMetadata, { user: { nameId: "grace@saml.example", attributes: { givenName: "Grace", sn: "Hopper" } } });
  const acs = await browser.post(`/sso/${tenant.slug}/saml/acs`, { SAMLResponse: answer.SAMLResponse, RelayState: answer.RelayState! }, { withCsrf: false });
  expect(acs.status).toBe(303);
  expect(String(acs.headers.location)).toMatch(/^\/oidc\/interaction\//);

  const { leftTo } = await followWithinGatehouse(browser, f.t.publicUrl, String(acs.headers.location));
  const claims = (await redeem(config, request, leftTo!)).claims()!;
  const user = await f.t.container.infra.db.user.findFirstOrThrow({ where: { tenantId: tenant.tenantId } });
  expect(claims).toMatchObject({ sub: user.id, email: "grace@saml.example", name: "Grace Hopper", tenant: tenant.slug, region: "us", acr: "aal1" });
  expect(claims.amr).toEqual(expect.any(Array));
});

it("carries the IdP's groups to the session and, with the groups scope, into the ID token", async () => {
  const tenant = await setUpSamlTenant(f.t, { provisioning: "jit" });
  const { app, config } = await f.app({ tenants: [tenant.slug] });
  const browser = new CookieBrowser(f.t.app);
  const request = await authorizationRequest(config, app, { scope: "openid email groups" });
  const toIdp = await followWithinGatehouse(browser, f.t.publicUrl, request.url);
  const groups = ["engineering", "on-call", "engineering", "x".repeat(257)];
  const answer = await tenant.idp.answer(toIdp.leftTo!.href, tenant.spMetadata, { user: { nameId: "linus@saml.example", attributes: { givenName: "Linus", groups } } });
  const acs = await browser.post(`/sso/${tenant.slug}/saml/acs`, { SAMLResponse: answer.SAMLResponse, RelayState: answer.RelayState! }, { withCsrf: false });
  expect(acs.status).toBe(303);

  // Repeats and an over-long name are dropped.
  const session = await browser.get("/api/v1/session");
  expect(session.body.groups).toEqual(["engineering", "on-call"]);

  const { leftTo } = await followWithinGatehouse(browser, f.t.publicUrl, String(acs.headers.location));
  const claims = (await redeem(config, request, leftTo!)).claims()!;
  expect(claims.groups).toEqual(["engineering", "on-call"]);
  expect(claims.name).toBeUndefined();
});
