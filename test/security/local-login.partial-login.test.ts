// Attack: with only the password (leaked or guessed), treat the half-finished sign-in as a session, jump to enrolment to swap in one's own authenticator, or lift its cookie into another browser.
import { oathtoolCode, textOf } from "../support/browser";
import { ManualClock, startTestApp, type TestApp } from "../support/harness";
import { CookieBrowser, createTenant, createUser, enrolTotp, PASSWORD, passwordStep, STEP_MS, type LoginForm } from "../support/login-helpers";

// The enrolment QR code plays no part here, and drawing it takes most of a second under jest.
jest.mock("../../src/mfa/qr", () => ({ totpQrDataUri: async () => "data:image/png;base64," }));

let t: TestApp;
let clock: ManualClock;
let slug: string;
let enrolled: LoginForm;
let secret: string;

beforeAll(async () => {
  clock = new ManualClock(new Date("2026-11-27T10:00:00Z"));
  t = await startTestApp({}, clock);
  // MFA optional: enrolled users must still give their code, and "Not now" must not be a way around it.
  slug = await createTenant(t, { mfaRequired: false });
  enrolled = { tenant: slug, email: "enrolled@partial.example", password: PASSWORD };
  await createUser(t, slug, { email: enrolled.email });
  ({ secret } = await enrolTotp(t, enrolled, clock));
});
afterAll(async () => {
  await t.close();
});
beforeEach(() => {
  clock.advance(STEP_MS);
});

/** Browser B: its own gh_browser id, plus the pending-login cookie lifted from browser A. */
async function otherBrowserWithPendingOf(a: CookieBrowser): Promise<CookieBrowser> {
  const b = new CookieBrowser(t.app);
  await b.get("/us/login"); // its own browser id and CSRF token
  expect(b.cookies.get("gh_browser")).not.toBe(a.cookies.get("gh_browser"));
  b.cookies.set("gh_pending", a.cookies.get("gh_pending")!);
  return b;
}

describe("a sign-in that has passed only the password step", () => {
  it("is not a session: /account sends to /login, the API answers 401", async () => {
    const browser = new CookieBrowser(t.app);
    expect((await passwordStep(browser, enrolled)).headers.location).toBe("/us/login/mfa");
    expect(browser.cookies.has("gh_pending")).toBe(true);

    const account = await browser.get("/account");
    expect(account.status).toBe(303);
    expect(account.headers.location).toBe("/login?return_to=%2Faccount");
    for (const path of ["/api/v1/tenants", `/api/v1/tenants/${slug}`, "/api/v1/session"]) {
      const api = await browser.get(path, { Accept: "application/json" });
      expect({ path, status: api.status }).toEqual({ path, status: 401 });
    }
  });

  it("cannot jump to enrolment to replace the enrolled authenticator, nor skip the code", async () => {
    const browser = new CookieBrowser(t.app);
    await passwordStep(browser, enrolled);
    const setup = await browser.get("/us/mfa/setup");
    expect(setup.status).toBe(303);
    expect(setup.headers.location).toBe("/us/login");
    expect(setup.text).not.toContain("totp-secret");
    const skip = await browser.post("/us/mfa/setup/skip", {});
    expect(skip.status).toBe(401);
    expect(browser.cookies.has("gh_session")).toBe(false);
  });

  it("does nothing in another browser: the right code there is refused and stays usable by its owner", async () => {
    const a = new CookieBrowser(t.app);
    await passwordStep(a, enrolled);
    await a.get("/us/login/mfa");
    const b = await otherBrowserWithPendingOf(a);
    const code = oathtoolCode(secret, clock.now());

    const stolen = await b.post("/us/login/mfa", { code });
    expect(stolen.status).toBe(401);
    expect(stolen.text).toContain("<h1>Sign-in expired</h1>");
    expect(b.cookies.has("gh_session")).toBe(false);
    expect((await b.get("/account")).status).toBe(303);

    const owner = await a.post("/us/login/mfa", { code });
    expect(owner.status).toBe(303);
    expect((await a.get("/account")).status).toBe(200);
  });

  it("does not show the enrolment secret of a first sign-in in another browser", async () => {
    const fresh: LoginForm = { tenant: slug, email: "fresh@partial.example", password: PASSWORD };
    await createUser(t, slug, { email: fresh.email });
    const a = new CookieBrowser(t.app);
    expect((await passwordStep(a, fresh)).headers.location).toBe("/us/mfa/setup");
    const offered = textOf((await a.get("/us/mfa/setup")).text, "totp-secret");

    const b = await otherBrowserWithPendingOf(a);
    const peek = await b.get("/us/mfa/setup");
    expect(peek.status).toBe(303);
    expect(peek.text).not.toContain(offered);
    const confirm = await b.post("/us/mfa/setup", { code: oathtoolCode(offered, clock.now()) });
    expect(confirm.status).toBe(401);
    expect(b.cookies.has("gh_session")).toBe(false);
    const user = await t.container.infra.db.user.findFirstOrThrow({ where: { emailKey: fresh.email } });
    expect(user.totpSecret).toBeNull();
  });
});
