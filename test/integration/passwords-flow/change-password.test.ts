import type supertest from "supertest";
import { startTestApp, type TestApp } from "../../support/harness";
import { auditOf, CookieBrowser, createTenant, createUser, PASSWORD, passwordStep, signInSkippingMfa, type LoginForm } from "../../support/login-helpers";
import { hasPassword, LINK_ENV, mailsTo, NEW_PASSWORD, SESSION_COOKIE, sessionsOf, titleOf, uniqueEmail } from "./helpers";

let t: TestApp;
let slug: string;

beforeAll(async () => {
  t = await startTestApp(LINK_ENV);
  slug = await createTenant(t, { mfaRequired: false });
});
afterAll(async () => {
  await t.close();
});

type SignedIn = { id: string; email: string; form: LoginForm; browsers: CookieBrowser[] };

/** A contractor signed in (aal1, the tenant does not require MFA) in `count` browsers. */
async function signedIn(label: string, count = 1): Promise<SignedIn> {
  const email = uniqueEmail(label);
  const id = await createUser(t, slug, { email });
  const form = { tenant: slug, email, password: PASSWORD };
  const browsers: CookieBrowser[] = [];
  for (let i = 0; i < count; i += 1) {
    const browser = new CookieBrowser(t.app);
    await signInSkippingMfa(browser, form);
    browsers.push(browser);
  }
  return { id, email, form, browsers };
}

async function change(browser: CookieBrowser, fields: Record<string, string>): Promise<supertest.Response> {
  const page = await browser.get("/us/password/change");
  expect(page.status).toBe(200);
  return browser.post("/us/password/change", fields);
}

const reasonsOf = (res: supertest.Response): string[] =>
  [...(/id="password-reasons">(.*?)<\/ul>/s.exec(res.text)?.[1] ?? "").matchAll(/<li>([^<]*)<\/li>/g)].map((m) => m[1]!);

describe("changing one's own password", () => {
  it("refuses a wrong current password and changes nothing", async () => {
    const user = await signedIn("wrong-current");
    const res = await change(user.browsers[0]!, { password: "not my password at all", new_password: NEW_PASSWORD, end_other_sessions: "yes" });
    expect(res.status).toBe(401);
    expect(res.text).toContain("Your current password is not correct.");
    expect(await hasPassword(t, user.id, PASSWORD)).toBe(true);
    expect(await mailsTo(t, user.email, "password_changed")).toEqual([]);
    expect((await auditOf(t, res)).map((e) => e.type)).not.toContain("password.changed");
    expect((await user.browsers[0]!.get("/account")).status).toBe(200);
  });

  it("refuses a new password the policy refuses and says why", async () => {
    const user = await signedIn("football.fan");
    const weak = await change(user.browsers[0]!, { password: PASSWORD, new_password: "football2024!" });
    expect([weak.status, titleOf(weak)]).toEqual([400, "Change your password"]);
    expect(reasonsOf(weak)).toEqual([expect.stringContaining("most commonly used passwords"), expect.stringContaining("your email address")]);
    const same = await user.browsers[0]!.post("/us/password/change", { password: PASSWORD, new_password: PASSWORD });
    expect(same.status).toBe(400);
    expect(reasonsOf(same)).toEqual(["It is your current password: choose a new one."]);
    expect(await hasPassword(t, user.id, PASSWORD)).toBe(true);
    expect(await mailsTo(t, user.email, "password_changed")).toEqual([]);
  });

  it("changes the password, ends the other sessions and keeps this one under a new cookie", async () => {
    const user = await signedIn("end-others", 3);
    const [here, ...elsewhere] = user.browsers as [CookieBrowser, ...CookieBrowser[]];
    const before = (await sessionsOf(t, user.id)).map((s) => s.id);
    expect(before).toHaveLength(3);
    const oldCookie = here.cookies.get(SESSION_COOKIE)!;
    expect((await here.get("/us/password/change")).text).toMatch(/<input type="checkbox" name="end_other_sessions" value="yes" checked>/);

    const res = await change(here, { password: PASSWORD, new_password: NEW_PASSWORD, end_other_sessions: "yes" });
    expect([res.status, res.headers.location]).toEqual([303, "/account"]);
    expect(here.cookies.get(SESSION_COOKIE)).toEqual(expect.any(String));
    expect(here.cookies.get(SESSION_COOKIE)).not.toBe(oldCookie);
    expect((await here.get("/account")).status).toBe(200);
    const after = (await sessionsOf(t, user.id)).map((s) => s.id);
    expect(after).toHaveLength(1);
    expect(before).toContain(after[0]);
    for (const browser of elsewhere) expect((await browser.get("/account")).headers.location).toBe("/login?return_to=%2Faccount");

    // The token the browser held before the change no longer opens the session.
    const replay = new CookieBrowser(t.app);
    replay.cookies.set(SESSION_COOKIE, oldCookie);
    expect((await replay.get("/account")).status).toBe(303);

    expect(await auditOf(t, res)).toEqual([expect.objectContaining({ type: "password.changed", data: { by: "user", endedOtherSessions: true } })]);
    expect((await mailsTo(t, user.email, "password_changed")).map((m) => m.subject)).toEqual([`Your Tenant ${slug} password was changed`]);
    expect(await hasPassword(t, user.id, NEW_PASSWORD)).toBe(true);
    expect((await passwordStep(new CookieBrowser(t.app), user.form)).status).toBe(401);
    expect((await passwordStep(new CookieBrowser(t.app), { ...user.form, password: NEW_PASSWORD })).status).toBe(303);
  });

  it("leaves the other sessions signed in when asked to", async () => {
    const user = await signedIn("keep-others", 2);
    const [here, other] = user.browsers as [CookieBrowser, CookieBrowser];
    const res = await change(here, { password: PASSWORD, new_password: NEW_PASSWORD });
    expect(res.status).toBe(303);
    expect((await other.get("/account")).status).toBe(200);
    expect(await sessionsOf(t, user.id)).toHaveLength(2);
    expect(await auditOf(t, res)).toEqual([expect.objectContaining({ type: "password.changed", data: { by: "user", endedOtherSessions: false } })]);
  });

  it("does not tell the user that sessions they kept were signed out", async () => {
    const user = await signedIn("notice-kept", 2);
    expect((await change(user.browsers[0]!, { password: PASSWORD, new_password: NEW_PASSWORD })).status).toBe(303);
    const [notice] = await mailsTo(t, user.email, "password_changed");
    expect(notice?.text).toContain("was just changed");
    // The other session is still live: a notice saying otherwise would hide an intruder's session.
    expect(notice?.text).not.toMatch(/sessions were signed out/);
  });

  it("sends a visitor without a session to sign in", async () => {
    const browser = new CookieBrowser(t.app);
    const page = await browser.get("/us/password/change");
    expect([page.status, page.headers.location]).toEqual([303, "/login?return_to=%2Fus%2Fpassword%2Fchange"]);
    await browser.get("/us/password/forgot");
    const post = await browser.post("/us/password/change", { password: PASSWORD, new_password: NEW_PASSWORD });
    expect([post.status, post.headers.location]).toEqual([303, "/login"]);
  });
});
