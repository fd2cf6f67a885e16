// Attack: someone who knows the password and sees a TOTP code as it is typed (shoulder-surfing, a phishing proxy) uses it in their own browser within the same 30 seconds, or races the user with it.
import { oathtoolCode } from "../support/browser";
import { ManualClock, startTestApp, type TestApp } from "../support/harness";
import { CookieBrowser, createTenant, createUser, enrolTotp, PASSWORD, passwordStep, STEP_MS, type LoginForm } from "../support/login-helpers";

// The enrolment QR code plays no part here, and drawing it takes most of a second under jest.
jest.mock("../../src/mfa/qr", () => ({ totpQrDataUri: async () => "data:image/png;base64," }));

let t: TestApp;
let clock: ManualClock;
let form: LoginForm;
let userId: string;
let secret: string;

beforeAll(async () => {
  clock = new ManualClock(new Date("2026-11-27T10:00:00Z"));
  t = await startTestApp({}, clock);
  const slug = await createTenant(t);
  form = { tenant: slug, email: "user@replay.example", password: PASSWORD };
  userId = await createUser(t, slug, { email: form.email });
  ({ secret } = await enrolTotp(t, form, clock));
});
afterAll(async () => {
  await t.close();
});
beforeEach(() => {
  // A fresh time step per test: the enrolment code, or the previous test's, is spent.
  clock.advance(STEP_MS);
});

/** A browser that has passed the password step and is shown the code form. */
async function atCodeStep(): Promise<CookieBrowser> {
  const browser = new CookieBrowser(t.app);
  expect((await passwordStep(browser, form)).headers.location).toBe("/us/login/mfa");
  await browser.get("/us/login/mfa");
  return browser;
}

const sessionCount = async () => (await t.container.sessions.listUserSessions(userId)).length;

describe("TOTP codes at the login's second step are single-use", () => {
  it("refuses a code, accepted once, when a second browser submits it in the same time step", async () => {
    const code = oathtoolCode(secret, clock.now());
    const user = await atCodeStep();
    const attacker = await atCodeStep();

    const accepted = await user.post("/us/login/mfa", { code });
    expect(accepted.status).toBe(303);
    expect(accepted.headers.location).toBe("/account");

    clock.advance(STEP_MS - 1_000); // still inside the window in which the code is valid
    const before = await sessionCount();
    const replayed = await attacker.post("/us/login/mfa", { code });
    expect(replayed.status).toBe(401);
    expect(replayed.text).toContain("That code is not valid.");
    expect(attacker.cookies.has("gh_session")).toBe(false);
    expect((await attacker.get("/account")).status).toBe(303);
    expect(await sessionCount()).toBe(before);
  });

  it("refuses a code replayed in the very browser that used it, after signing in again", async () => {
    const code = oathtoolCode(secret, clock.now());
    const browser = await atCodeStep();
    expect((await browser.post("/us/login/mfa", { code })).status).toBe(303);
    await browser.post("/logout", {});
    const again = await atCodeStep();
    expect((await again.post("/us/login/mfa", { code })).status).toBe(401);
  });

  it("lets exactly one of two browsers racing with the same code sign in", async () => {
    const code = oathtoolCode(secret, clock.now());
    const browsers = [await atCodeStep(), await atCodeStep(), await atCodeStep()];
    const before = await sessionCount();

    const results = await Promise.all(browsers.map((b) => b.post("/us/login/mfa", { code })));

    expect(results.filter((r) => r.status === 303)).toHaveLength(1);
    expect(results.map((r) => r.status).filter((s) => s !== 303 && s !== 401 && s !== 429)).toEqual([]);
    expect(browsers.filter((b) => b.cookies.has("gh_session"))).toHaveLength(1);
    expect(await sessionCount()).toBe(before + 1);
  });
});
