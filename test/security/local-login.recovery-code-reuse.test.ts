// Attack: someone who finds a recovery code that was already used (a printout, a screenshot, a note) signs in with it again.
import { ManualClock, startTestApp, type TestApp } from "../support/harness";
import { CookieBrowser, createTenant, createUser, enrolTotp, PASSWORD, passwordStep, type LoginForm } from "../support/login-helpers";

// The enrolment QR code plays no part here, and drawing it takes most of a second under jest.
jest.mock("../../src/mfa/qr", () => ({ totpQrDataUri: async () => "data:image/png;base64," }));

let t: TestApp;
let form: LoginForm;
let userId: string;
let codes: string[];

beforeAll(async () => {
  const clock = new ManualClock(new Date("2026-11-27T10:00:00Z"));
  t = await startTestApp({}, clock);
  const slug = await createTenant(t);
  form = { tenant: slug, email: "user@recovery.example", password: PASSWORD };
  userId = await createUser(t, slug, { email: form.email });
  codes = (await enrolTotp(t, form, clock)).recoveryCodes;
});
afterAll(async () => {
  await t.close();
});

async function atCodeStep(): Promise<CookieBrowser> {
  const browser = new CookieBrowser(t.app);
  expect((await passwordStep(browser, form)).headers.location).toBe("/us/login/mfa");
  await browser.get("/us/login/mfa");
  return browser;
}

async function signInWithCode(code: string): Promise<{ browser: CookieBrowser; status: number }> {
  const browser = await atCodeStep();
  return { browser, status: (await browser.post("/us/login/mfa", { code })).status };
}

describe("recovery codes", () => {
  it("are shown once, right after enrolment: ten of them", () => {
    expect(codes).toHaveLength(10);
    for (const code of codes) expect(code).toMatch(/^[0-9a-z]{5}-[0-9a-z]{5}$/);
  });

  it("sign in once; the same code is refused afterwards, however it is typed", async () => {
    const code = codes[0]!;
    const first = await signInWithCode(code);
    expect(first.status).toBe(303);
    expect((await first.browser.get("/account")).status).toBe(200);

    for (const variant of [code, code.toUpperCase(), code.replace("-", ""), ` ${code.replace("-", " ")} `]) {
      const again = await signInWithCode(variant);
      expect({ variant, status: again.status }).toEqual({ variant, status: 401 });
      expect(again.browser.cookies.has("gh_session")).toBe(false);
    }
    expect(await t.container.infra.db.recoveryCode.count({ where: { userId, usedAt: { not: null } } })).toBe(1);
  });

  it("let exactly one of two browsers racing with the same code sign in", async () => {
    const browsers = [await atCodeStep(), await atCodeStep()];
    const results = await Promise.all(browsers.map((b) => b.post("/us/login/mfa", { code: codes[1]! })));
    expect(results.filter((r) => r.status === 303)).toHaveLength(1);
    expect(results.map((r) => r.status).filter((s) => s !== 303 && s !== 401 && s !== 429)).toEqual([]);
    expect(await t.container.infra.db.recoveryCode.count({ where: { userId, usedAt: { not: null } } })).toBe(2);
  });

  it("keep the other, unused codes working", async () => {
    expect((await signInWithCode(codes[2]!)).status).toBe(303);
  });
});
