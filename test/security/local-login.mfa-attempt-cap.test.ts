// Attack: with a stolen password, guess the 6-digit code again and again within one sign-in, one after another or all at once.
import { oathtoolCode } from "../support/browser";
import { ManualClock, startTestApp, type TestApp } from "../support/harness";
import { CookieBrowser, createTenant, createUser, enrolTotp, PASSWORD, passwordStep, STEP_MS, wrongTotpCode, type LoginForm } from "../support/login-helpers";

// The enrolment QR code plays no part here, and drawing it takes most of a second under jest.
jest.mock("../../src/mfa/qr", () => ({ totpQrDataUri: async () => "data:image/png;base64," }));

let t: TestApp;
let clock: ManualClock;
let slug: string;

beforeAll(async () => {
  clock = new ManualClock(new Date("2026-11-27T10:00:00Z"));
  // Behind a trusted proxy, so the burst below can come from many addresses, as a botnet's would.
  t = await startTestApp({ TRUST_PROXY: "loopback" }, clock);
  slug = await createTenant(t);
});
afterAll(async () => {
  await t.close();
});

/** A user with TOTP, and a browser of the attacker past the password step. Each test has its own user. */
async function victimAtCodeStep(email: string) {
  const form: LoginForm = { tenant: slug, email, password: PASSWORD };
  const userId = await createUser(t, slug, { email });
  const { secret } = await enrolTotp(t, form, clock);
  clock.advance(STEP_MS);
  const browser = new CookieBrowser(t.app);
  expect((await passwordStep(browser, form)).headers.location).toBe("/us/login/mfa");
  await browser.get("/us/login/mfa");
  return { userId, secret, browser };
}

const sessionsOf = async (userId: string) => (await t.container.sessions.listUserSessions(userId)).length;
const countFailedCodes = (userId: string) => t.container.infra.db.auditEvent.count({ where: { type: "mfa.failed", targetId: userId } });

describe("the second step allows five wrong codes per sign-in", () => {
  it("ends the pending login at the fifth wrong code: the right code afterwards finds it expired", async () => {
    const { userId, secret, browser } = await victimAtCodeStep("serial@cap.example");
    const sessionsBefore = await sessionsOf(userId);
    const wrong = wrongTotpCode(secret, clock.now());
    for (const left of [4, 3, 2, 1, 0]) {
      const res = await browser.post("/us/login/mfa", { code: wrong });
      expect(res.status).toBe(401);
      expect(res.text).toContain(`${left} attempts left`);
    }

    const sixth = await browser.post("/us/login/mfa", { code: oathtoolCode(secret, clock.now()) });
    expect(sixth.status).toBe(401);
    expect(sixth.text).toContain("<h1>Sign-in expired</h1>");
    expect(browser.cookies.has("gh_session")).toBe(false);
    expect(browser.cookies.has("gh_pending")).toBe(false);
    expect((await browser.get("/account")).status).toBe(303);
    expect(await sessionsOf(userId)).toBe(sessionsBefore);
    expect(await countFailedCodes(userId)).toBe(5);
  });

  it("checks no more than five of ten wrong codes sent at the same moment from ten addresses", async () => {
    const { userId, secret, browser } = await victimAtCodeStep("burst@cap.example");
    const sessionsBefore = await sessionsOf(userId);
    const wrong = wrongTotpCode(secret, clock.now());

    // Ten addresses: the per-IP throttle stays out of it, the sign-in's own cap is what must hold.
    const from = (i: number) => ({ headers: { "X-Forwarded-For": `198.51.100.${i + 1}` } });
    const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => browser.post("/us/login/mfa", { code: wrong }, from(i))));

    // Refused as wrong (401) or as too many at once (429); either way, checked at most five times.
    expect(burst.map((res) => res.status).filter((status) => status !== 401 && status !== 429)).toEqual([]);
    expect(await countFailedCodes(userId)).toBeLessThanOrEqual(5);
    expect(await sessionsOf(userId)).toBe(sessionsBefore);
  });
});
