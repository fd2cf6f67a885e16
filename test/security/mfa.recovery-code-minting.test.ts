// Attack: someone who has stolen a signed-in session (cookie theft, an unlocked laptop) but not the authenticator mints new recovery codes, to keep a way in after the session is revoked.
import { oathtoolCode } from "../support/browser";
import { ManualClock, startTestApp, type TestApp } from "../support/harness";
import { CookieBrowser, createTenant, createUser, enrolTotp, PASSWORD, passwordStep, STEP_MS, wrongTotpCode, type LoginForm } from "../support/login-helpers";

// The enrolment QR code plays no part here, and drawing it takes most of a second under jest.
jest.mock("../../src/mfa/qr", () => ({ totpQrDataUri: async () => "data:image/png;base64," }));

let t: TestApp;
let clock: ManualClock;
let form: LoginForm;
let userId: string;
let secret: string;
let recoveryCodes: string[];
let stolen: CookieBrowser;

beforeAll(async () => {
  clock = new ManualClock(new Date("2026-11-28T12:00:00Z"));
  t = await startTestApp({}, clock);
  const slug = await createTenant(t);
  form = { tenant: slug, email: "victim@minting.example", password: PASSWORD };
  userId = await createUser(t, slug, { email: form.email });
  ({ browser: stolen, secret, recoveryCodes } = await enrolTotp(t, form, clock));
  await stolen.get("/account");
});
afterAll(async () => {
  await t.close();
});
beforeEach(() => {
  clock.advance(STEP_MS);
});

const storedHashes = async () => (await t.container.infra.db.recoveryCode.findMany({ where: { userId }, orderBy: { codeHash: "asc" } })).map((row) => row.codeHash);
const noticeCount = () => t.container.infra.db.mailOutbox.count({ where: { to: form.email, kind: "mfa_recovery_codes" } });

describe("a stolen session cannot mint recovery codes", () => {
  it.each([
    ["no code", ""],
    ["a guessed code", "guess"],
    ["one of the user's recovery codes instead of the authenticator", "recovery"],
  ])("refuses %s and changes nothing", async (_name, kind) => {
    const before = await storedHashes();
    const code = kind === "guess" ? wrongTotpCode(secret, clock.now()) : kind === "recovery" ? recoveryCodes[0]! : "";
    const res = await stolen.post("/account/recovery-codes", { code });
    expect(res.status).toBe(401);
    expect(await storedHashes()).toEqual(before);
    expect(await noticeCount()).toBe(0);
  });

  it("refuses a TOTP code the user already spent (seen over their shoulder or through a phishing proxy)", async () => {
    const code = oathtoolCode(secret, clock.now());
    const user = new CookieBrowser(t.app);
    expect((await passwordStep(user, form)).headers.location).toBe("/us/login/mfa");
    await user.get("/us/login/mfa");
    expect((await user.post("/us/login/mfa", { code })).status).toBe(303);

    const before = await storedHashes();
    expect((await stolen.post("/account/recovery-codes", { code })).status).toBe(401);
    expect(await storedHashes()).toEqual(before);
  });

  it("refuses a cross-site form without the CSRF token, even with a valid code", async () => {
    const before = await storedHashes();
    const res = await stolen.post("/account/recovery-codes", { code: oathtoolCode(secret, clock.now()) }, { withCsrf: false });
    expect(res.status).toBe(403);
    expect(await storedHashes()).toEqual(before);
  });

  it("throttles guessing on the same counter as the login's code step", async () => {
    // The earlier tests' failures count too; guess until the per-account-and-IP counter holds the form.
    let res = await stolen.post("/account/recovery-codes", { code: wrongTotpCode(secret, clock.now()) });
    for (let i = 0; i < 15 && res.status === 401; i += 1) res = await stolen.post("/account/recovery-codes", { code: wrongTotpCode(secret, clock.now()) });
    expect(res.status).toBe(429);
    expect(Number(res.headers["retry-after"])).toBeGreaterThan(0);
    // Held, the right code does not get through either, and the login's code step from here is held too.
    const before = await storedHashes();
    expect((await stolen.post("/account/recovery-codes", { code: oathtoolCode(secret, clock.now()) })).status).toBe(429);
    expect(await storedHashes()).toEqual(before);
    const login = new CookieBrowser(t.app);
    expect((await passwordStep(login, form)).headers.location).toBe("/us/login/mfa");
    await login.get("/us/login/mfa");
    expect((await login.post("/us/login/mfa", { code: oathtoolCode(secret, clock.now()) })).status).toBe(429);
    expect(await noticeCount()).toBe(0);
  });

  it("checks parallel guesses one at a time, so a burst cannot outrun the throttle", async () => {
    const other: LoginForm = { ...form, email: "burst@minting.example" };
    const otherId = await createUser(t, form.tenant, { email: other.email });
    const { browser, secret: otherSecret } = await enrolTotp(t, other, clock);
    await browser.get("/account");
    clock.advance(STEP_MS);
    const guesses = await Promise.all(Array.from({ length: 30 }, () => browser.post("/account/recovery-codes", { code: wrongTotpCode(otherSecret, clock.now()) })));
    const statuses = guesses.map((res) => res.status);
    expect(statuses.filter((status) => status !== 401 && status !== 429)).toEqual([]);
    // The per-account-and-IP counter lets 10 failures through before it delays; no more may be checked.
    // Without the lock, how many slip past depends on how the requests interleave: 11 or 12 in about
    // half of the runs tried, so this catches its loss often, not always.
    const checked = await t.container.infra.db.auditEvent.count({ where: { type: "mfa.failed", targetId: otherId } });
    expect(checked).toBe(statuses.filter((status) => status === 401).length);
    expect(checked).toBeLessThanOrEqual(10);
  });
});
