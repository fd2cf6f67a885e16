// Third-party apps ask the user before they get anything (a consent page with CSRF protection); first-party
// apps do not. The answer is remembered for the provider session.
import type supertest from "supertest";
import { errorOf, loginThroughApp, redeem, startProductAppFixture, userWithTotp, type ProductAppFixture } from "../../support/product-app-login";
import { authorizationRequest, followWithinGatehouse, type CookieBrowser } from "../../support/relying-party";

let f: ProductAppFixture;
let browser: CookieBrowser;
let user: Awaited<ReturnType<typeof userWithTotp>>;

beforeAll(async () => {
  f = await startProductAppFixture();
  const firstParty = await f.app();
  user = await userWithTotp(f.t, f.clock);
  ({ browser } = await loginThroughApp(f.t, firstParty.config, firstParty.app, user, f.clock));
});
afterAll(() => f.close());

const continueUrlOf = (res: supertest.Response) => {
  const href = /id="continue" href="([^"]+)"/.exec(res.text)?.[1];
  if (!href) throw new Error(`no continue link: ${res.status} ${res.text.slice(0, 300)}`);
  return href.replaceAll("&amp;", "&");
};

const consentFormOf = (res: supertest.Response) => {
  const action = /<form method="post" action="([^"]+)">/.exec(res.text)?.[1];
  if (!action) throw new Error(`no consent form: ${res.status} ${res.text.slice(0, 300)}`);
  return action;
};

it("shows a third-party app's request, then issues a code once the user allows it, and not again", async () => {
  const { app, config } = await f.app({ firstParty: false, name: "Partner reports" });
  const request = await authorizationRequest(config, app);
  const { res } = await followWithinGatehouse(browser, f.t.publicUrl, request.url);
  expect(res?.status).toBe(200);
  expect(res?.text).toContain("Partner reports");
  expect(res?.text).toContain("See your email address");

  const allowed = await browser.post(consentFormOf(res!), { decision: "allow" });
  // Not a redirect: after a form post the browser moves on through a page of its own (see continuePage).
  expect(allowed.status).toBe(200);
  expect(allowed.headers.location).toBeUndefined();
  const { leftTo } = await followWithinGatehouse(browser, f.t.publicUrl, continueUrlOf(allowed));
  expect((await redeem(config, request, leftTo!)).claims()).toMatchObject({ sub: user.userId, email: user.email });

  const again = await authorizationRequest(config, app);
  const second = await followWithinGatehouse(browser, f.t.publicUrl, again.url);
  expect(second.leftTo?.searchParams.get("code")).toEqual(expect.any(String));
});

it("answers the app access_denied when the user denies", async () => {
  const { app, config } = await f.app({ firstParty: false });
  const request = await authorizationRequest(config, app);
  const { res } = await followWithinGatehouse(browser, f.t.publicUrl, request.url);
  const denied = await browser.post(consentFormOf(res!), { decision: "deny" });
  const { leftTo } = await followWithinGatehouse(browser, f.t.publicUrl, continueUrlOf(denied));
  expect(errorOf(leftTo!)).toBe("access_denied");
  expect(leftTo!.searchParams.has("code")).toBe(false);
});

it("refuses a consent posted without this browser's CSRF token (a forged allow)", async () => {
  const { app, config } = await f.app({ firstParty: false });
  const request = await authorizationRequest(config, app);
  const { res } = await followWithinGatehouse(browser, f.t.publicUrl, request.url);
  const forged = await browser.post(consentFormOf(res!), { decision: "allow", _csrf: "forged" });
  expect(forged.status).toBe(403);
  expect(forged.headers.location).toBeUndefined();
});
