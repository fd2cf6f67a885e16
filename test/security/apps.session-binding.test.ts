// The OpenID provider's own session cookie is replayed without the Gatehouse session it was made from (after
// logout, copied into another browser, or next to another user's session) to obtain codes: one session, not two.
import { CookieBrowser } from "../support/login-helpers";
import { loginThroughApp, redeem, startProductAppFixture, userWithTotp, type ProductAppFixture } from "../support/product-app-login";
import { authorizationRequest, followWithinGatehouse } from "../support/relying-party";

let f: ProductAppFixture;

beforeAll(async () => {
  f = await startProductAppFixture();
});
afterAll(() => f.close());

const providerCookies = (browser: CookieBrowser) => [...browser.cookies].filter(([name]) => name.startsWith("gh_oidc_session"));

it("issues no code from the provider cookie once the Gatehouse session is logged out", async () => {
  const { app, config } = await f.app();
  const user = await userWithTotp(f.t, f.clock);
  const { browser } = await loginThroughApp(f.t, config, app, user, f.clock);
  const kept = providerCookies(browser);
  expect(kept.length).toBeGreaterThan(0);
  await browser.post("/logout", {});
  for (const [name, value] of kept) browser.cookies.set(name, value);

  const request = await authorizationRequest(config, app);
  const { leftTo, res } = await followWithinGatehouse(browser, f.t.publicUrl, request.url);
  expect(leftTo).toBeUndefined();
  expect(res?.text).toContain("/oidc/interaction/");
});

it("issues no code from a provider cookie copied into a browser without a Gatehouse session", async () => {
  const { app, config } = await f.app();
  const user = await userWithTotp(f.t, f.clock);
  const { browser } = await loginThroughApp(f.t, config, app, user, f.clock);
  const thief = new CookieBrowser(f.t.app);
  for (const [name, value] of providerCookies(browser)) thief.cookies.set(name, value);

  const request = await authorizationRequest(config, app, { prompt: "none" });
  const { leftTo } = await followWithinGatehouse(thief, f.t.publicUrl, request.url);
  expect(leftTo?.searchParams.get("error")).toBe("login_required");
  expect(leftTo?.searchParams.has("code")).toBe(false);
});

it("signs in the Gatehouse session's user, never the one a planted provider cookie names", async () => {
  const { app, config } = await f.app();
  const [victim, attacker] = [await userWithTotp(f.t, f.clock), await userWithTotp(f.t, f.clock)];
  const victimBrowser = (await loginThroughApp(f.t, config, app, victim, f.clock)).browser;
  const attackerBrowser = (await loginThroughApp(f.t, config, app, attacker, f.clock)).browser;
  for (const [name, value] of providerCookies(victimBrowser)) attackerBrowser.cookies.set(name, value);

  const request = await authorizationRequest(config, app);
  const { leftTo } = await followWithinGatehouse(attackerBrowser, f.t.publicUrl, request.url);
  expect(leftTo?.searchParams.get("code")).toEqual(expect.any(String));
  expect((await redeem(config, request, leftTo!)).claims()?.sub).toBe(attacker.userId);
});
