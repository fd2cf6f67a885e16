import { oathtoolCode, textOf } from "../../support/browser";
import { ManualClock, startTestApp, type TestApp } from "../../support/harness";
import { auditOf, CookieBrowser, createTenant, createUser, enrolTotp, PASSWORD, passwordStep, signInSkippingMfa, signInWithTotp, STEP_MS, wrongTotpCode, type LoginForm } from "../../support/login-helpers";
import { queuedMails } from "../../support/outbox";

// The QR code plays no part here, and drawing it takes most of a second under jest.
jest.mock("../../../src/mfa/qr", () => ({ totpQrDataUri: async () => "data:image/png;base64," }));

let t: TestApp;
let clock: ManualClock;
let slug: string;

beforeAll(async () => {
  clock = new ManualClock(new Date("2026-11-28T14:00:00Z"));
  t = await startTestApp({}, clock);
  slug = await createTenant(t, { name: "Acme Phones" });
});
afterAll(async () => {
  await t.close();
});

type Enrolled = { form: LoginForm; userId: string; browser: CookieBrowser; secret: string; recoveryCodes: string[] };

async function enrolled(email: string): Promise<Enrolled> {
  const form = { tenant: slug, email, password: PASSWORD };
  const userId = await createUser(t, slug, { email });
  const { browser, secret, recoveryCodes } = await enrolTotp(t, form, clock);
  await browser.get("/account");
  clock.advance(STEP_MS);
  return { form, userId, browser, secret, recoveryCodes };
}

/** Signs in at the code step with `code`; the status of that step. */
async function codeStep(form: LoginForm, code: string): Promise<number> {
  const browser = new CookieBrowser(t.app);
  expect((await passwordStep(browser, form)).headers.location).toBe("/us/login/mfa");
  await browser.get("/us/login/mfa");
  return (await browser.post("/us/login/mfa", { code })).status;
}

/** Step one with `proof`, then the setup page: the new secret. */
async function proveAndOpenSetup(user: Enrolled, proof: string): Promise<string> {
  await user.browser.get("/account/authenticator");
  const proved = await user.browser.post("/account/authenticator/verify", { code: proof });
  expect([proved.status, proved.headers.location]).toEqual([303, "/account/authenticator"]);
  const setup = await user.browser.get("/account/authenticator");
  expect(setup.status).toBe(200);
  return textOf(setup.text, "totp-secret");
}

describe("replacing the authenticator app from the account page", () => {
  it("with a code of the old app: the new app's secret replaces the old one, other sessions end, the user is told", async () => {
    const user = await enrolled("phone@replace.example");
    const other = new CookieBrowser(t.app);
    expect((await signInWithTotp(other, user.form, user.secret, clock)).status).toBe(303);
    clock.advance(STEP_MS);

    expect((await user.browser.get("/account")).text).toContain('id="replace-authenticator"');
    const newSecret = await proveAndOpenSetup(user, oathtoolCode(user.secret, clock.now()));
    expect(newSecret).not.toBe(user.secret);
    // The same secret on reload; the old app still works until the new one is confirmed.
    expect(textOf((await user.browser.get("/account/authenticator")).text, "totp-secret")).toBe(newSecret);

    clock.advance(STEP_MS);
    const done = await user.browser.post("/account/authenticator", { code: oathtoolCode(newSecret, clock.now()) });
    expect([done.status, done.headers.location]).toEqual([303, "/account"]);
    expect((await auditOf(t, done)).map(({ type, data }) => ({ type, data }))).toEqual([
      { type: "mfa.replaced", data: { by: "user", factor: "totp", proof: "totp" } },
      { type: "session.revoked", data: { by: "user", reason: "authenticator_replaced", count: 1 } },
    ]);

    expect((await user.browser.get("/account")).status).toBe(200);
    expect((await other.get("/account")).headers.location).toMatch(/^\/login/);
    clock.advance(STEP_MS);
    expect(await codeStep(user.form, oathtoolCode(user.secret, clock.now()))).toBe(401);
    expect(await codeStep(user.form, oathtoolCode(newSecret, clock.now()))).toBe(303);
    // Recovery codes are not the app's: they keep working.
    expect(await codeStep(user.form, user.recoveryCodes[0]!)).toBe(303);

    const mails = await queuedMails(t.container.infra.db, { to: user.form.email, kind: "mfa_replaced" });
    expect(mails).toHaveLength(1);
    expect(mails[0]).toContain("Subject: Your authenticator app was replaced");
    expect(mails[0]).toContain("(Acme Phones)");
    expect(mails[0]).not.toContain(newSecret);
  });

  it("with a recovery code, for a lost phone: the code is spent", async () => {
    const user = await enrolled("lost@replace.example");
    const newSecret = await proveAndOpenSetup(user, user.recoveryCodes[3]!);
    expect(await t.container.infra.db.recoveryCode.count({ where: { userId: user.userId, usedAt: { not: null } } })).toBe(1);
    const done = await user.browser.post("/account/authenticator", { code: oathtoolCode(newSecret, clock.now()) });
    expect(done.status).toBe(303);
    expect((await auditOf(t, done))[0]).toMatchObject({ type: "mfa.replaced", data: { proof: "recovery_code" } });
    clock.advance(STEP_MS);
    expect(await codeStep(user.form, oathtoolCode(newSecret, clock.now()))).toBe(303);
  });

  it("a wrong first code of the new app changes nothing, and the setup stays open", async () => {
    const user = await enrolled("typo@replace.example");
    const newSecret = await proveAndOpenSetup(user, oathtoolCode(user.secret, clock.now()));
    const wrong = await user.browser.post("/account/authenticator", { code: wrongTotpCode(newSecret, clock.now()) });
    expect(wrong.status).toBe(401);
    expect(textOf(wrong.text, "form-error")).toContain("That code is not valid");
    expect(textOf(wrong.text, "totp-secret")).toBe(newSecret);
    clock.advance(STEP_MS);
    expect(await codeStep(user.form, oathtoolCode(user.secret, clock.now()))).toBe(303);
  });

  it("the new app's code in the step the old one was just used is asked for again, not taken", async () => {
    const user = await enrolled("sametick@replace.example");
    const newSecret = await proveAndOpenSetup(user, oathtoolCode(user.secret, clock.now()));
    const early = await user.browser.post("/account/authenticator", { code: oathtoolCode(newSecret, clock.now()) });
    expect(early.status).toBe(401);
    expect(textOf(early.text, "form-error")).toContain("already used");
    clock.advance(STEP_MS);
    expect((await user.browser.post("/account/authenticator", { code: oathtoolCode(newSecret, clock.now()) })).status).toBe(303);
  });

  it("an account without an authenticator app has nothing to replace", async () => {
    const optional = await createTenant(t, { mfaRequired: false });
    const form = { tenant: optional, email: "noapp@replace.example", password: PASSWORD };
    await createUser(t, optional, { email: form.email });
    const browser = new CookieBrowser(t.app);
    await signInSkippingMfa(browser, form);
    expect((await browser.get("/account")).text).not.toContain('id="replace-authenticator"');
    const page = await browser.get("/account/authenticator");
    expect(page.status).toBe(400);
    expect(page.text).toContain("no authenticator app to replace");
    expect((await browser.post("/account/authenticator/verify", { code: "123456" })).status).toBe(400);
    expect((await browser.post("/account/authenticator", { code: "123456" })).status).toBe(400);
  });
});
