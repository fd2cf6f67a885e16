import { ManualClock, startTestApp, uniqueSlug, type TestApp } from "../../support/harness";
import { oathtoolCode, TestBrowser, textOf } from "../../support/browser";
import { queuedMails } from "../../support/outbox";

let t: TestApp;
let clock: ManualClock;
let slug: string;
const password = "correct horse battery staple";

beforeAll(async () => {
  clock = new ManualClock(new Date("2026-11-27T10:00:00Z"));
  t = await startTestApp({}, clock);
  slug = uniqueSlug("login");
  await t.api().post("/api/v1/tenants").send({ slug, name: "Login Co", region: "us" }).expect(201);
  await t.api().post(`/api/v1/tenants/${slug}/users`).send({ email: "con@login.example", name: "Con", kind: "contractor", password }).expect(201);
});
afterAll(async () => {
  await t.close();
});

describe("regional local login with TOTP enrolment", () => {
  let secret = "";

  it("enrols TOTP after the password step and starts a session", async () => {
    const browser = new TestBrowser(t.app);
    const form = await browser.get(`/us/login?tenant=${slug}`);
    expect(form.status).toBe(200);
    expect(form.headers["cache-control"]).toBe("no-store");
    const afterPassword = await browser.post("/us/login", { tenant: slug, email: "con@login.example", password });
    expect(afterPassword.status).toBe(303);
    expect(afterPassword.headers.location).toBe("/us/mfa/setup");

    const setup = await browser.get("/us/mfa/setup");
    expect(setup.status).toBe(200);
    secret = textOf(setup.text, "totp-secret");
    expect(textOf(setup.text, "totp-uri")).toMatch(/^otpauth:\/\/totp\/Gatehouse:con%40login\.example\?secret=/);
    const done = await browser.post("/us/mfa/setup", { code: oathtoolCode(secret, clock.now()) });
    expect(done.status).toBe(303);
    expect(done.headers.location).toMatch(/^\/account/);

    const codesPage = await browser.get(String(done.headers.location));
    expect(codesPage.status).toBe(200);
    expect(codesPage.text.match(/<li><code>[0-9a-z]{5}-[0-9a-z]{5}<\/code><\/li>/g)).toHaveLength(10);
    const account = await browser.get("/account");
    expect(textOf(account.text, "account-email")).toBe("con@login.example");

    // The owner is told: someone with only the password could have enrolled their own app.
    const mails = await queuedMails(t.container.infra.db, { to: "con@login.example", kind: "mfa_enrolled" });
    expect(mails).toHaveLength(1);
    expect(mails[0]).toContain("Subject: Two-step verification turned on");
    expect(mails[0]).toContain("(Login Co)");
    expect(mails[0]).not.toContain(secret);
  });

  it("logs out, then logs in again with a fresh code from the next time step", async () => {
    clock.advance(30_000);
    const browser = new TestBrowser(t.app);
    await browser.get("/us/login");
    const step1 = await browser.post("/us/login", { tenant: slug, email: "con@login.example", password });
    expect(step1.headers.location).toBe("/us/login/mfa");
    await browser.get("/us/login/mfa");
    const step2 = await browser.post("/us/login/mfa", { code: oathtoolCode(secret, clock.now()) });
    expect(step2.status).toBe(303);
    expect(step2.headers.location).toBe("/account");
    const account = await browser.get("/account");
    expect(account.status).toBe(200);
    expect(account.text).toContain("con@login.example");

    const out = await browser.post("/logout", {});
    expect(out.status).toBe(303);
    const after = await browser.get("/account");
    expect(after.status).toBe(303);
    expect(after.headers.location).toBe("/login?return_to=%2Faccount");
  });
});
