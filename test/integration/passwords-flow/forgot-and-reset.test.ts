import { createPrivateDatabase } from "../../support/private-database";
import { createLogger } from "../../../src/platform/logger";
import { createSmtpMailer } from "../../../src/platform/mail/mailer";
import { createOutboxSender } from "../../../src/platform/mail/outbox-sender";
import { createOutboxStore } from "../../../src/platform/mail/outbox.store";
import { oathtoolCode } from "../../support/browser";
import { ManualClock, startTestApp, type TestApp } from "../../support/harness";
import { adminApi, auditOf, CookieBrowser, createTenant, createUser, enrolTotp, PASSWORD, passwordStep, setCookiesOf, STEP_MS } from "../../support/login-helpers";
import { askForReset, decodeQuotedPrintable, hasPassword, latestToken, LINK_ENV, linkIn, mailsTo, NEW_PASSWORD, SESSION_COOKIE, sessionsOf, signInWithTotp, startSmtpReceiver, submitReset, titleOf, tokenOf, uniqueEmail } from "./helpers";

let t: TestApp;
let clock: ManualClock;
let slug: string;

beforeAll(async () => {
  clock = new ManualClock(new Date("2026-11-27T10:00:00Z"));
  t = await startTestApp(LINK_ENV, clock);
  slug = await createTenant(t);
});
afterAll(async () => {
  await t.close();
});

async function contractor(tenant: string, label: string): Promise<{ id: string; email: string }> {
  const email = uniqueEmail(label);
  return { id: await createUser(t, tenant, { email }), email };
}

async function resetLinkFor(user: { email: string }, tenant = slug): Promise<string> {
  await askForReset(new CookieBrowser(t.app), { tenant, email: user.email });
  return latestToken(t, user.email);
}

describe("forgot password: the mail", () => {
  it("links to the tenant's region URL whatever Host the request names, and carries no secret but the link", async () => {
    const cases = [["eu", "http://eu.gatehouse.test"], ["au", "http://gatehouse.test"]] as const;
    for (const [region, base] of cases) {
      const tenant = await createTenant(t, { region });
      const user = await contractor(tenant, "link");
      const res = await askForReset(new CookieBrowser(t.app), { tenant, email: user.email }, region, { Host: "evil.example", "X-Forwarded-Host": "evil.example" });
      expect(res.status).toBe(200);
      expect(titleOf(res)).toBe("Check your email");

      const mails = await mailsTo(t, user.email);
      expect(mails).toHaveLength(1);
      const mail = mails[0]!;
      expect(mail).toMatchObject({ kind: "password_reset", subject: `Reset your Tenant ${tenant} password` });
      const link = linkIn(mail.text);
      expect(link.startsWith(`${base}/${region}/password/reset?token=`)).toBe(true);
      expect(tokenOf(link)).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(mail.html).toContain(`href="${link}"`);

      const stored = await t.container.infra.db.passwordToken.findFirstOrThrow({ where: { userId: user.id } });
      for (const part of [mail.text, mail.html ?? ""]) {
        const rest = part.split(link).join("");
        expect(rest).toContain("30 minutes");
        for (const secret of [tokenOf(link), stored.tokenHash, user.id]) expect(rest).not.toContain(secret);
        expect(rest).not.toMatch(/[A-Za-z0-9_-]{20,}/);
      }
    }
  });
});

describe("reset links", () => {
  it("work once; the page sends no referrer and is not cached; a second use says the link expired", async () => {
    const user = await contractor(slug, "once");
    const token = await resetLinkFor(user);
    const browser = new CookieBrowser(t.app);
    const page = await browser.get(`/us/password/reset?token=${token}`);
    expect(page.status).toBe(200);
    expect(page.headers["referrer-policy"]).toBe("no-referrer");
    expect(page.headers["cache-control"]).toBe("no-store");
    expect(page.text).toContain('<meta name="referrer" content="no-referrer">');

    // A real browser posts from a no-referrer page with "Origin: null".
    const done = await browser.post("/us/password/reset", { token, new_password: NEW_PASSWORD }, { headers: { Origin: "null" } });
    expect(done.status).toBe(200);
    expect(titleOf(done)).toBe("Password changed");
    expect(await hasPassword(t, user.id, NEW_PASSWORD)).toBe(true);

    const again = await browser.post("/us/password/reset", { token, new_password: "another fine passphrase 7" });
    expect(again.status).toBe(400);
    expect(titleOf(again)).toBe("Link expired");
    expect(await hasPassword(t, user.id, NEW_PASSWORD)).toBe(true);
    const reopened = await browser.get(`/us/password/reset?token=${token}`);
    expect([reopened.status, titleOf(reopened), reopened.headers["referrer-policy"]]).toEqual([400, "Link expired", "no-referrer"]);
  });

  it("stop working 30 minutes after they were mailed", async () => {
    const user = await contractor(slug, "late");
    const token = await resetLinkFor(user);
    const browser = new CookieBrowser(t.app);
    clock.advance(30 * 60_000 - 1_000);
    expect((await browser.get(`/us/password/reset?token=${token}`)).status).toBe(200);
    clock.advance(2_000);
    expect((await browser.get(`/us/password/reset?token=${token}`)).status).toBe(400);
    const late = await browser.post("/us/password/reset", { token, new_password: NEW_PASSWORD });
    expect([late.status, titleOf(late)]).toEqual([400, "Link expired"]);
    expect(await hasPassword(t, user.id, PASSWORD)).toBe(true);
  });

  it("end when a newer link is mailed", async () => {
    const user = await contractor(slug, "newer");
    const older = await resetLinkFor(user);
    const newer = await resetLinkFor(user);
    expect(newer).not.toBe(older);
    const stale = await submitReset(new CookieBrowser(t.app), older, NEW_PASSWORD);
    expect([stale.status, titleOf(stale)]).toEqual([400, "Link expired"]);
    expect((await submitReset(new CookieBrowser(t.app), newer, NEW_PASSWORD)).status).toBe(200);
  });

  it("survive a refused password, and the page says why it was refused", async () => {
    const user = await contractor(slug, "football.fan");
    const token = await resetLinkFor(user);
    const browser = new CookieBrowser(t.app);
    const refused = await submitReset(browser, token, "football2024!");
    expect([refused.status, titleOf(refused)]).toEqual([400, "Choose a new password"]);
    const list = /<ul class="error" id="password-reasons">(.*?)<\/ul>/s.exec(refused.text)?.[1] ?? "";
    expect([...list.matchAll(/<li>([^<]*)<\/li>/g)].map((m) => m[1])).toEqual([expect.stringContaining("most commonly used passwords"), expect.stringContaining("your email address")]);
    expect(refused.text).toContain(`name="token" value="${token}"`);
    expect(await hasPassword(t, user.id, PASSWORD)).toBe(true);

    const retried = await browser.post("/us/password/reset", { token, new_password: NEW_PASSWORD });
    expect([retried.status, titleOf(retried)]).toEqual([200, "Password changed"]);
  });
});

describe("after a reset", () => {
  it("every session is over, the rotation flag is gone, a notice is mailed, nobody is signed in; the next login asks for MFA and takes the first code", async () => {
    const user = await contractor(slug, "after");
    const form = { tenant: slug, email: user.email, password: PASSWORD };
    const { browser: first, secret } = await enrolTotp(t, form, clock);
    clock.advance(STEP_MS);
    const second = new CookieBrowser(t.app);
    expect((await signInWithTotp(second, form, secret, clock)).status).toBe(303);
    await adminApi(t).post(`/api/v1/tenants/${slug}/users/${user.id}/password-reset`).send({ mode: "reset_required", revokeSessions: false, notify: false }).expect(200);
    expect(await sessionsOf(t, user.id)).toHaveLength(2);

    const resetter = new CookieBrowser(t.app);
    const done = await submitReset(resetter, await resetLinkFor(user), NEW_PASSWORD);
    expect([done.status, titleOf(done)]).toEqual([200, "Password changed"]);
    expect(setCookiesOf(done).map((c) => c.name)).not.toContain(SESSION_COOKIE);
    expect(resetter.cookies.has(SESSION_COOKIE)).toBe(false);
    expect((await resetter.get("/account")).status).toBe(303);

    expect(await sessionsOf(t, user.id)).toEqual([]);
    for (const browser of [first, second]) expect((await browser.get("/account")).headers.location).toBe("/login?return_to=%2Faccount");
    expect((await t.container.infra.db.user.findUniqueOrThrow({ where: { id: user.id } })).passwordRotation).toBeNull();
    const notices = await mailsTo(t, user.email, "password_changed");
    expect(notices.map((m) => m.subject)).toEqual([`Your Tenant ${slug} password was changed`]);
    expect(await auditOf(t, done)).toEqual([expect.objectContaining({ type: "password.changed", data: expect.objectContaining({ by: "reset" }) })]);

    clock.advance(STEP_MS);
    const next = new CookieBrowser(t.app);
    expect((await passwordStep(next, form)).status).toBe(401);
    const step = await passwordStep(next, { ...form, password: NEW_PASSWORD });
    expect(step.headers.location).toBe("/us/login/mfa");
    expect((await next.get("/us/login/mfa")).headers["cache-control"]).toBe("no-store");
    const signedIn = await next.post("/us/login/mfa", { code: oathtoolCode(secret, clock.now()) });
    expect([signedIn.status, signedIn.headers.location]).toEqual([303, "/account"]);
    expect((await next.get("/account")).status).toBe(200);
  });
});

describe("through a real SMTP receiver", () => {
  // A database of its own: the sender claims every due row, and other files' mails are not ours to send.
  let database: { url: string; drop(): Promise<void> } | undefined;
  afterAll(() => database?.drop());

  it("delivers the reset mail, whose link sets the password", async () => {
    database = await createPrivateDatabase("pwmail");
    const own = await startTestApp({ ...LINK_ENV, DATABASE_URL: database.url });
    const smtp = await startSmtpReceiver();
    const mailer = createSmtpMailer(`smtp://127.0.0.1:${smtp.port}?ignoreTLS=true`, "Gatehouse <no-reply@gatehouse.test>");
    try {
      const tenant = await createTenant(own);
      const email = uniqueEmail("smtp");
      const userId = await createUser(own, tenant, { email });
      await askForReset(new CookieBrowser(own.app), { tenant, email });
      await own.container.passwordReset.whenIdle();
      const db = own.container.infra.db;
      const sender = createOutboxSender({ db, store: createOutboxStore(), mailer, clock: { now: () => new Date(Date.now() + 1_000) }, logger: createLogger({ level: "silent" }) });
      expect(await sender.drainOnce()).toEqual({ sent: 1, failed: 0 });

      expect(smtp.received.map((m) => m.to)).toEqual([[email]]);
      const message = decodeQuotedPrintable(smtp.received[0]!.raw);
      expect(message).toContain(`Subject: Reset your Tenant ${tenant} password`);
      expect(message).toMatch(/Content-Type: text\/plain[\s\S]*Content-Type: text\/html/);
      const link = linkIn(message);
      expect(link).toMatch(/^http:\/\/us\.gatehouse\.test\/us\/password\/reset\?token=[A-Za-z0-9_-]{43}$/);
      expect((await db.mailOutbox.findFirstOrThrow({ where: { to: email } })).status).toBe("sent");
      expect((await submitReset(new CookieBrowser(own.app), tokenOf(link), NEW_PASSWORD)).status).toBe(200);
      expect(await hasPassword(own, userId, NEW_PASSWORD)).toBe(true);
    } finally {
      await mailer.close();
      await smtp.close();
      await own.close();
    }
  });
});
