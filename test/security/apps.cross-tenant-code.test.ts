// An app meant for one customer (tenant X) is used to obtain a code for a user of another customer (tenant Y):
// by naming tenant Y in the request, or by riding on the user's existing Gatehouse session.
import { CookieBrowser } from "../support/login-helpers";
import { errorOf, loginThroughApp, redeem, startProductAppFixture, userWithTotp, type ProductAppFixture } from "../support/product-app-login";
import { authorizationRequest, followWithinGatehouse } from "../support/relying-party";

let f: ProductAppFixture;
let userX: Awaited<ReturnType<typeof userWithTotp>>;
let userY: Awaited<ReturnType<typeof userWithTotp>>;

beforeAll(async () => {
  f = await startProductAppFixture();
  userX = await userWithTotp(f.t, f.clock);
  userY = await userWithTotp(f.t, f.clock);
});
afterAll(() => f.close());

it("refuses a user of tenant Y who is already signed in: access_denied, no code", async () => {
  const open = await f.app();
  const onlyX = await f.app({ tenants: [userX.slug] });
  const { browser } = await loginThroughApp(f.t, open.config, open.app, userY, f.clock);
  const request = await authorizationRequest(onlyX.config, onlyX.app);
  const { leftTo } = await followWithinGatehouse(browser, f.t.publicUrl, request.url);
  expect(errorOf(leftTo!)).toBe("access_denied");
  expect(leftTo!.searchParams.has("code")).toBe(false);

  // Silent re-authentication gets the same answer.
  const silent = await authorizationRequest(onlyX.config, onlyX.app, { prompt: "none" });
  const again = await followWithinGatehouse(browser, f.t.publicUrl, silent.url);
  expect(errorOf(again.leftTo!)).toBe("access_denied");
});

it("refuses tenant=Y at once, before any login page", async () => {
  const onlyX = await f.app({ tenants: [userX.slug] });
  const request = await authorizationRequest(onlyX.config, onlyX.app, { tenant: userY.slug });
  const { leftTo } = await followWithinGatehouse(new CookieBrowser(f.t.app), f.t.publicUrl, request.url);
  expect(errorOf(leftTo!)).toBe("access_denied");
});

it("signs in a user of tenant X (the app's own tenant), without naming it", async () => {
  const onlyX = await f.app({ tenants: [userX.slug] });
  const { request, callback } = await loginThroughApp(f.t, onlyX.config, onlyX.app, userX, f.clock);
  const tokens = await redeem(onlyX.config, request, callback);
  expect(tokens.claims()).toMatchObject({ sub: userX.userId, tenant: userX.slug });
});
