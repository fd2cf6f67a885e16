// A session opened from a network the tenant allows is carried (a stolen cookie, a laptop on another network)
// to a network its IP allowlist does not allow, and used there to obtain a code for a product app.
import { errorOf, loginThroughApp, redeem, startProductAppFixture, userWithTotp, type ProductAppFixture } from "../support/product-app-login";
import { authorizationRequest, followWithinGatehouse } from "../support/relying-party";

let f: ProductAppFixture;

beforeAll(async () => {
  // The test client is a trusted proxy, so X-Forwarded-For sets the client address.
  f = await startProductAppFixture({ TRUST_PROXY: "loopback" });
});
afterAll(() => f.close());

const from = (ip: string) => ({ "X-Forwarded-For": ip });

it("issues a code from an allowed network and refuses one from elsewhere with the same session", async () => {
  const { app, config } = await f.app();
  const user = await userWithTotp(f.t, f.clock, { ipAllowlist: ["127.0.0.0/8", "203.0.113.0/24"] });
  const { browser, request, callback } = await loginThroughApp(f.t, config, app, user, f.clock, { headers: from("203.0.113.10") });
  expect((await redeem(config, request, callback)).claims()?.sub).toBe(user.userId);

  const elsewhere = await authorizationRequest(config, app);
  const { leftTo } = await followWithinGatehouse(browser, f.t.publicUrl, elsewhere.url, from("198.51.100.7"));
  expect(errorOf(leftTo!)).toBe("access_denied");
  expect(leftTo!.searchParams.has("code")).toBe(false);

  const back = await authorizationRequest(config, app);
  const allowed = await followWithinGatehouse(browser, f.t.publicUrl, back.url, from("203.0.113.11"));
  expect(allowed.leftTo?.searchParams.get("code")).toEqual(expect.any(String));
});
