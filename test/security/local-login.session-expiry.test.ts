// Attack: use a browser left signed in on an unattended or stolen device long after its owner stopped using it.
import { ManualClock, startTestApp, type TestApp } from "../support/harness";
import { adminApi, CookieBrowser, createTenant, createUser, PASSWORD, signInSkippingMfa } from "../support/login-helpers";

const MINUTE = 60_000;
let t: TestApp;
let clock: ManualClock;
let slug: string;

beforeAll(async () => {
  clock = new ManualClock(new Date("2026-11-27T10:00:00Z"));
  t = await startTestApp({}, clock);
  // The tenant's own timeouts, not the defaults (30 minutes idle, 12 hours absolute).
  slug = await createTenant(t, { mfaRequired: false, sessionIdleMinutes: 20, sessionAbsoluteHours: 1 });
  await createUser(t, slug, { email: "user@expiry.example" });
});
afterAll(async () => {
  await t.close();
});

async function signedIn(): Promise<CookieBrowser> {
  const browser = new CookieBrowser(t.app);
  await signInSkippingMfa(browser, { tenant: slug, email: "user@expiry.example", password: PASSWORD });
  return browser;
}

/** Moves the clock on, then opens /account: 200 while the session lives, 303 to /login once it has ended. */
async function after(browser: CookieBrowser, minutes: number): Promise<number> {
  clock.advance(minutes * MINUTE);
  return (await browser.get("/account")).status;
}

describe("a regional-login session over time", () => {
  it("ends after the tenant's idle timeout without activity", async () => {
    const browser = await signedIn();
    const token = browser.cookies.get("gh_session")!;
    expect(await after(browser, 19)).toBe(200);
    expect(await after(browser, 19)).toBe(200); // the visit at 19 minutes counted as activity

    clock.advance(20 * MINUTE);
    const res = await browser.get("/account");
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe("/login?return_to=%2Faccount");
    expect(browser.cookies.has("gh_session")).toBe(false); // the dead cookie is cleared
    const replayed = new CookieBrowser(t.app);
    replayed.cookies.set("gh_session", token);
    expect((await replayed.get("/account")).status).toBe(303);
  });

  it("stays alive with activity inside the idle timeout, but only until the absolute timeout", async () => {
    const browser = await signedIn();
    expect(await after(browser, 15)).toBe(200);
    expect(await after(browser, 15)).toBe(200);
    expect(await after(browser, 15)).toBe(200);
    expect(await after(browser, 14)).toBe(200); // 59 minutes after sign-in
    expect(await after(browser, 1)).toBe(303); // 60 minutes: the absolute timeout of one hour
  });

  it("applies a timeout change to sessions that start after it", async () => {
    await adminApi(t).patch(`/api/v1/tenants/${slug}`).send({ sessionIdleMinutes: 5 }).expect(200);
    try {
      const browser = await signedIn();
      expect(await after(browser, 4)).toBe(200);
      expect(await after(browser, 6)).toBe(303);
    } finally {
      await adminApi(t).patch(`/api/v1/tenants/${slug}`).send({ sessionIdleMinutes: 20 }).expect(200);
    }
  });
});
