// A user who must change their password (forced rotation at next login) signs in and, instead of changing it,
// goes to a product app: no code may be issued until the password is changed.
import { adminApi, CookieBrowser, PASSWORD } from "../support/login-helpers";
import { errorOf, loginThroughApp, redeem, startProductAppFixture, userWithTotp, type ProductAppFixture } from "../support/product-app-login";
import { authorizationRequest, followWithinGatehouse } from "../support/relying-party";

let f: ProductAppFixture;

beforeAll(async () => {
  f = await startProductAppFixture();
});
afterAll(() => f.close());

it("answers the app access_denied while the session is restricted, and a code once the password is changed", async () => {
  const { app, config } = await f.app();
  const user = await userWithTotp(f.t, f.clock);
  const flagged = await adminApi(f.t).post(`/api/v1/tenants/${user.slug}/users/${user.userId}/password-reset`).send({ mode: "change_at_next_login", revokeSessions: false, notify: false });
  expect(flagged.status).toBe(200);

  // The login ends on the password-change page, not back at the app.
  const browser = new CookieBrowser(f.t.app);
  await expect(loginThroughApp(f.t, config, app, user, f.clock, { browser })).rejects.toThrow(/did not return to the app/);
  const request = await authorizationRequest(config, app);
  const { leftTo } = await followWithinGatehouse(browser, f.t.publicUrl, request.url);
  expect(errorOf(leftTo!)).toBe("access_denied");
  expect(leftTo!.searchParams.get("error_description")).toMatch(/change their password/);
  expect(leftTo!.searchParams.has("code")).toBe(false);

  await browser.get("/us/password/change");
  const changed = await browser.post("/us/password/change", { password: PASSWORD, new_password: "an entirely new passphrase for Ada 2026" });
  expect(changed.status).toBe(303);
  const retry = await authorizationRequest(config, app);
  const back = await followWithinGatehouse(browser, f.t.publicUrl, retry.url);
  expect(back.leftTo?.searchParams.get("code")).toEqual(expect.any(String));
  expect((await redeem(config, retry, back.leftTo!)).claims()?.sub).toBe(user.userId);
});
