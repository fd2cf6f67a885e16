import { oathtoolCode, textOf } from "../../support/browser";
import { ManualClock, startTestApp, type TestApp } from "../../support/harness";
import { auditOf, CookieBrowser, createTenant, createUser, enrolTotp, PASSWORD, passwordStep, signInSkippingMfa, signInWithTotp, STEP_MS, wrongTotpCode, type LoginForm } from "../../support/login-helpers";
import { queuedMails } from "../../support/outbox";

// The enrolment QR code plays no part here, and drawing it takes most of a second under jest.
jest.mock("../../../src/mfa/qr", () => ({ totpQrDataUri: async () => "data:image/png;base64," }));

let t: TestApp;
let clock: ManualClock;
let slug: string;
let form: LoginForm;
let userId: string;
let secret: string;
let firstCodes: string[];
let browser: CookieBrowser;

beforeAll(async () => {
  clock = new ManualClock(new Date("2026-11-28T10:00:00Z"));
  t = await startTestApp({}, clock);
  slug = await createTenant(t, { name: "Acme Regen" });
  form = { tenant: slug, email: "regen@recovery.example", password: PASSWORD };
  userId = await createUser(t, slug, { email: form.email });
  ({ browser, secret, recoveryCodes: firstCodes } = await enrolTotp(t, form, clock));
});
afterAll(async () => {
  await t.close();
});
beforeEach(() => {
  // A fresh time step per test: each TOTP code is accepted once.
  clock.advance(STEP_MS);
});

const codesOn = (html: string) => [...html.matchAll(/<li><code>([^<]+)<\/code><\/li>/g)].map((m) => m[1]!);

async function signInWithCode(code: string): Promise<number> {
  const other = new CookieBrowser(t.app);
  expect((await passwordStep(other, form)).headers.location).toBe("/us/login/mfa");
  await other.get("/us/login/mfa");
  return (await other.post("/us/login/mfa", { code })).status;
}

describe("new recovery codes from the account page", () => {
  it("the account page says how many unused codes are left", async () => {
    expect(await signInWithCode(firstCodes[0]!)).toBe(303);
    const page = await browser.get("/account");
    expect(page.status).toBe(200);
    expect(textOf(page.text, "recovery-codes-left")).toBe("9 unused recovery codes left.");
  });

  it("a current TOTP code replaces every code, and the new ones are shown once", async () => {
    // Another session of the user stays: the box "sign out my other sessions" is left unticked.
    const other = new CookieBrowser(t.app);
    expect((await signInWithTotp(other, form, secret, clock)).status).toBe(303);
    clock.advance(STEP_MS);
    const res = await browser.post("/account/recovery-codes", { code: oathtoolCode(secret, clock.now()) });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe("/account");
    expect(await auditOf(t, res)).toEqual([
      { type: "mfa.recovery_codes_regenerated", ip: expect.any(String), data: { by: "user", unusedReplaced: 9, recoveryCodes: 10 } },
    ]);
    expect((await other.get("/account")).status).toBe(200);

    const shown = await browser.get("/account");
    const codes = codesOn(shown.text);
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(firstCodes).not.toContain(code);
    // Once: the next visit is the account page again, with ten codes left.
    const again = await browser.get("/account");
    expect(codesOn(again.text)).toEqual([]);
    expect(textOf(again.text, "recovery-codes-left")).toBe("10 unused recovery codes left.");

    // The old codes are gone; a new one signs in.
    expect(await signInWithCode(firstCodes[1]!)).toBe(401);
    expect(await signInWithCode(codes[0]!)).toBe(303);
    expect(await t.container.infra.db.recoveryCode.count({ where: { userId } })).toBe(10);
  });

  it("with the box ticked, the user's other sessions end", async () => {
    const other = new CookieBrowser(t.app);
    expect((await signInWithTotp(other, form, secret, clock)).status).toBe(303);
    clock.advance(STEP_MS);
    const page = await browser.get("/account");
    expect(page.text).toMatch(/name="end_other_sessions" value="yes" checked/);
    const others = (await t.container.sessions.listUserSessions(userId)).length - 1;
    expect(others).toBeGreaterThanOrEqual(1);
    const res = await browser.post("/account/recovery-codes", { code: oathtoolCode(secret, clock.now()), end_other_sessions: "yes" });
    expect(res.status).toBe(303);
    expect((await auditOf(t, res)).map(({ type, data }) => ({ type, data }))).toEqual([
      { type: "mfa.recovery_codes_regenerated", data: { by: "user", unusedReplaced: 9, recoveryCodes: 10 } },
      { type: "session.revoked", data: { by: "user", reason: "recovery_codes_regenerated", count: others } },
    ]);
    expect(await t.container.sessions.listUserSessions(userId)).toHaveLength(1);
    expect((await other.get("/account")).headers.location).toMatch(/^\/login/);
    expect(codesOn((await browser.get("/account")).text)).toHaveLength(10);
  });

  it("the user is told by mail, which carries no code", async () => {
    const mails = await queuedMails(t.container.infra.db, { to: form.email, kind: "mfa_recovery_codes" });
    expect(mails).toHaveLength(2);
    expect(mails[0]).toContain("Subject: New recovery codes for your account");
    expect(mails[0]).toContain("Your earlier recovery codes no longer work.");
    expect(mails[0]).toContain("(Acme Regen)");
    for (const code of firstCodes) expect(mails[0]).not.toContain(code);
  });

  it("a wrong code changes nothing and says so on the page", async () => {
    const before = await t.container.infra.db.recoveryCode.findMany({ where: { userId }, orderBy: { codeHash: "asc" } });
    const res = await browser.post("/account/recovery-codes", { code: wrongTotpCode(secret, clock.now()) });
    expect(res.status).toBe(401);
    expect(textOf(res.text, "form-error")).toContain("That code is not valid");
    expect((await auditOf(t, res)).map((row) => row.type)).toEqual(["mfa.failed"]);
    expect(await t.container.infra.db.recoveryCode.findMany({ where: { userId }, orderBy: { codeHash: "asc" } })).toEqual(before);
  });

  it("an account without an authenticator has no recovery-code section, and the form is refused", async () => {
    const optional = await createTenant(t, { mfaRequired: false });
    const plain: LoginForm = { tenant: optional, email: "plain@recovery.example", password: PASSWORD };
    await createUser(t, optional, { email: plain.email });
    const other = new CookieBrowser(t.app);
    await signInSkippingMfa(other, plain);
    const page = await other.get("/account");
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('id="recovery-codes-left"');
    const res = await other.post("/account/recovery-codes", { code: "123456" });
    expect(res.status).toBe(400);
    expect(textOf(res.text, "form-error")).toContain("no authenticator app");
  });

  it("without a session the form leads to the login page", async () => {
    const anonymous = new CookieBrowser(t.app);
    await anonymous.get("/login");
    const res = await anonymous.post("/account/recovery-codes", { code: oathtoolCode(secret, clock.now()) });
    expect(res.status).toBe(303);
    expect(String(res.headers.location)).toMatch(/^\/login/);
  });
});
