// Attack: guess one account's password (or, knowing it, its TOTP codes) from one address as fast as the server answers, one guess after another or many at once.
import { setTimeout as sleep } from "node:timers/promises";
import bcrypt from "bcrypt";
import type supertest from "supertest";
import { ManualClock, startTestApp, type TestApp } from "../support/harness";
import { auditOf, CookieBrowser, createTenant, createUser, enrolTotp, PASSWORD, passwordStep, STEP_MS, wrongTotpCode, type LoginForm } from "../support/login-helpers";

// The enrolment QR code plays no part here, and drawing it takes most of a second under jest.
jest.mock("../../src/mfa/qr", () => ({ totpQrDataUri: async () => "data:image/png;base64," }));

let t: TestApp;
let slug: string;
const clock = new ManualClock(new Date("2026-11-27T10:00:00Z"));

beforeAll(async () => {
  t = await startTestApp({}, clock);
  slug = await createTenant(t);
});
afterAll(async () => {
  await t.close();
});

async function newAccount(email: string): Promise<{ browser: CookieBrowser; guess: (password: string) => Promise<supertest.Response> }> {
  await createUser(t, slug, { email });
  const browser = new CookieBrowser(t.app);
  await browser.get("/us/login");
  const form = (password: string): LoginForm => ({ tenant: slug, email, password });
  return { browser, guess: (password) => browser.post("/us/login", form(password)) };
}

describe("password guessing against one account from one IP", () => {
  it("is throttled at the 11th consecutive failure with 429, Retry-After and an audit event; the right password waits too", async () => {
    const { guess } = await newAccount("serial@throttle.example");
    for (let i = 1; i <= 10; i++) expect((await guess(`wrong guess ${i}`)).status).toBe(401);

    const eleventh = await guess("wrong guess 11");
    expect(eleventh.status).toBe(429);
    const retryAfter = String(eleventh.headers["retry-after"]);
    expect(retryAfter).toMatch(/^[1-9][0-9]*$/);
    expect(eleventh.text).toContain("Too many attempts");
    expect((await auditOf(t, eleventh)).map((e) => e.type)).toEqual(["login.throttled"]);

    const right = await guess(PASSWORD);
    expect(right.status).toBe(429);
    expect(right.headers["retry-after"]).toMatch(/^[1-9][0-9]*$/);
    expect(right.headers["set-cookie"]).toBeUndefined();
    expect((await auditOf(t, right)).map((e) => e.type)).toEqual(["login.throttled"]);

    // The delay is a delay, not a lockout: once it has passed, the right password works.
    await sleep(Number(retryAfter) * 1_000 + 100);
    const later = await guess(PASSWORD);
    expect(later.status).toBe(303);
    expect(later.headers.location).toBe("/us/mfa/setup");
  });

  it("checks no more than ten of thirty guesses sent at the same moment", async () => {
    const { guess } = await newAccount("burst@throttle.example");
    // At the production cost (12) a bcrypt compare takes about a quarter of a second; the test app's cost 4 does not.
    const realCompare = bcrypt.compare.bind(bcrypt) as (data: string, hash: string) => Promise<boolean>;
    const slowCompare = async (data: string, hash: string) => {
      await sleep(250);
      return realCompare(data, hash);
    };
    const compare = jest.spyOn(bcrypt, "compare").mockImplementation(slowCompare as typeof bcrypt.compare);

    const burst = await Promise.all(Array.from({ length: 30 }, (_, i) => guess(`parallel guess ${i}`))).finally(() => compare.mockRestore());

    const statuses = burst.map((res) => res.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(10);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(20);
  });
});

describe("code guessing against one account from one IP, with the password known", () => {
  it("checks no more than ten codes sent at the same moment from twenty half-finished sign-ins", async () => {
    const form: LoginForm = { tenant: slug, email: "mfa-burst@throttle.example", password: PASSWORD };
    const userId = await createUser(t, slug, { email: form.email });
    const { secret } = await enrolTotp(t, form, clock);
    clock.advance(STEP_MS);
    // Each sign-in allows five codes of its own; the throttle is what must stop many sign-ins at once.
    const browsers: CookieBrowser[] = [];
    for (let i = 0; i < 20; i++) {
      const browser = new CookieBrowser(t.app);
      expect((await passwordStep(browser, form)).headers.location).toBe("/us/login/mfa");
      await browser.get("/us/login/mfa");
      browsers.push(browser);
    }
    const wrong = wrongTotpCode(secret, clock.now());
    // Widens the moment between the throttle's check and its count, as a slow database would; it is never zero.
    const totp = t.container.localLogin.totp;
    const realVerify = totp.verify.bind(totp);
    const verify = jest.spyOn(totp, "verify").mockImplementation(async (...args) => {
      await sleep(250);
      return realVerify(...args);
    });

    const burst = await Promise.all(browsers.map((b) => b.post("/us/login/mfa", { code: wrong }))).finally(() => verify.mockRestore());

    const checked = await t.container.infra.db.auditEvent.count({ where: { type: "mfa.failed", targetId: userId } });
    expect(checked).toBeLessThanOrEqual(10);
    expect(burst.filter((res) => res.status === 429).length).toBeGreaterThanOrEqual(10);
  });
});
