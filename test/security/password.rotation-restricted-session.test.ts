// Attack: a user told to change their password at next login (or whoever holds the old password and the second factor) signs in and uses the session for anything but that change.
import { ManualClock, startTestApp, type TestApp } from "../support/harness";
import { adminApi, CookieBrowser, createTenant, createUser, enrolTotp, PASSWORD, STEP_MS } from "../support/login-helpers";
import { LINK_ENV, NEW_PASSWORD, SESSION_COOKIE, sessionsOf, signInWithTotp, titleOf, uniqueEmail } from "../integration/passwords-flow/helpers";

let t: TestApp;
let clock: ManualClock;
let slug: string;
let user: { id: string; email: string };
let secret: string;

beforeAll(async () => {
  clock = new ManualClock(new Date("2026-11-27T10:00:00Z"));
  t = await startTestApp(LINK_ENV, clock);
  slug = await createTenant(t);
  const email = uniqueEmail("rotate");
  user = { id: await createUser(t, slug, { email }), email };
  ({ secret } = await enrolTotp(t, { tenant: slug, email, password: PASSWORD }, clock));
  const res = await adminApi(t).post(`/api/v1/tenants/${slug}/users/${user.id}/password-reset`).send({ mode: "change_at_next_login" });
  expect([res.status, res.body.passwordRotation]).toEqual([200, "change_at_next_login"]);
});
afterAll(async () => {
  await t.close();
});

/** Password and a fresh TOTP code: the session this gives is restricted to the password change. */
async function restrictedSignIn(): Promise<CookieBrowser> {
  clock.advance(STEP_MS);
  const browser = new CookieBrowser(t.app);
  const res = await signInWithTotp(browser, { tenant: slug, email: user.email, password: PASSWORD }, secret, clock);
  expect([res.status, res.headers.location]).toEqual([303, "/us/password/change"]);
  expect(browser.cookies.has(SESSION_COOKIE)).toBe(true);
  return browser;
}

describe("a session restricted to the password change", () => {
  it("begins after password and MFA on the password-change page", async () => {
    const browser = await restrictedSignIn();
    const page = await browser.get("/us/password/change");
    expect([page.status, titleOf(page)]).toEqual([200, "Change your password"]);
    expect(page.text).toContain("You must choose a new password before you continue.");
    expect(await sessionsOf(t, user.id)).toEqual([expect.objectContaining({ restriction: "password_change" })]);
  });

  it("is refused everywhere else with password_rotation_required: problem+json for APIs, a page for browsers", async () => {
    const browser = await restrictedSignIn();
    for (const path of ["/account", "/login", `/login?tenant=${slug}`, "/us/login", "/eu/login", "/us/login/mfa", "/us/mfa/setup", "/us/password/forgot", "/us/password/reset?token=x"]) {
      const json = await browser.get(path, { Accept: "application/json" });
      expect({ path, status: json.status, type: json.headers["content-type"] }).toEqual({ path, status: 403, type: expect.stringContaining("application/problem+json") });
      expect(JSON.parse(json.text)).toMatchObject({ status: 403, code: "password_rotation_required" });

      const html = await browser.get(path);
      expect({ path, status: html.status, type: html.headers["content-type"] }).toEqual({ path, status: 403, type: expect.stringContaining("text/html") });
      expect(html.text).toContain("Password change required");
    }
    await browser.get("/us/password/change");
    for (const [path, form] of [["/account/sessions/revoke", { session_id: "others" }], ["/account/recovery-codes", { code: "123456" }], ["/account/authenticator/verify", { code: "123456" }], ["/account/authenticator", { code: "123456" }], ["/us/password/forgot", { tenant: slug, email: user.email }], ["/us/login", { tenant: slug, email: user.email, password: PASSWORD }]] as const) {
      const res = await browser.post(path, form, { headers: { Accept: "application/json" } });
      expect({ path, status: res.status, code: JSON.parse(res.text).code }).toEqual({ path, status: 403, code: "password_rotation_required" });
    }
    expect(await sessionsOf(t, user.id)).toHaveLength(2);
  });

  it("can log out", async () => {
    const browser = await restrictedSignIn();
    const before = await sessionsOf(t, user.id);
    const out = await browser.post("/logout", {});
    expect([out.status, out.headers.location]).toEqual([303, "/login"]);
    expect(browser.cookies.has(SESSION_COOKIE)).toBe(false);
    expect(await sessionsOf(t, user.id)).toHaveLength(before.length - 1);
    expect((await browser.get("/account")).headers.location).toBe("/login?return_to=%2Faccount");
  });

  it("reaches the account once the password is changed, and stays restricted until then", async () => {
    const browser = await restrictedSignIn();
    await browser.get("/us/password/change");
    const wrong = await browser.post("/us/password/change", { password: "not the current one!", new_password: NEW_PASSWORD });
    expect(wrong.status).toBe(401);
    expect((await browser.get("/account")).status).toBe(403);

    const restrictedToken = browser.cookies.get(SESSION_COOKIE)!;
    const changed = await browser.post("/us/password/change", { password: PASSWORD, new_password: NEW_PASSWORD });
    expect([changed.status, changed.headers.location]).toEqual([303, "/account"]);
    expect(browser.cookies.get(SESSION_COOKIE)).not.toBe(restrictedToken);
    const account = await browser.get("/account");
    expect(account.status).toBe(200);
    expect(account.text).toContain(user.email);
    expect((await browser.get("/us/password/forgot")).status).toBe(200);
    expect((await t.container.infra.db.user.findUniqueOrThrow({ where: { id: user.id } })).passwordRotation).toBeNull();

    // The token of the restricted session does not carry over.
    const stale = new CookieBrowser(t.app);
    stale.cookies.set(SESSION_COOKIE, restrictedToken);
    expect((await stale.get("/account")).headers.location).toBe("/login?return_to=%2Faccount");

    // The next sign-in is not restricted.
    clock.advance(STEP_MS);
    const next = await signInWithTotp(new CookieBrowser(t.app), { tenant: slug, email: user.email, password: NEW_PASSWORD }, secret, clock);
    expect([next.status, next.headers.location]).toEqual([303, "/account"]);
  });
});
