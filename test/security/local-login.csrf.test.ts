// Attack: a page on another site makes the victim's browser post our forms: sign in to the attacker's account, submit a code, log out, or end sessions.
import type supertest from "supertest";
import { startTestApp, type TestApp } from "../support/harness";
import { CookieBrowser, createTenant, createUser, PASSWORD, signInSkippingMfa } from "../support/login-helpers";

let t: TestApp;
let slug: string;
const OUR_ORIGIN = "http://localhost:3000"; // PUBLIC_URL's default in the test app

beforeAll(async () => {
  t = await startTestApp();
  slug = await createTenant(t, { mfaRequired: false });
  await createUser(t, slug, { email: "user@csrf.example" });
});
afterAll(async () => {
  await t.close();
});

const signedIn = async (): Promise<CookieBrowser> => {
  const browser = new CookieBrowser(t.app);
  await signInSkippingMfa(browser, { tenant: slug, email: "user@csrf.example", password: PASSWORD });
  await browser.get("/account");
  return browser;
};

const forms: [string, () => Record<string, string>][] = [
  ["/us/login", () => ({ tenant: slug, email: "user@csrf.example", password: PASSWORD })],
  ["/us/login/mfa", () => ({ code: "123456" })],
  ["/logout", () => ({})],
  ["/account/sessions/revoke", () => ({ session_id: "others" })],
];

type Forgery = (browser: CookieBrowser, path: string, form: Record<string, string>) => Promise<supertest.Response>;
const forgeries: [string, Forgery][] = [
  ["without a CSRF token", (b, path, form) => b.post(path, form, { withCsrf: false })],
  ["with an empty CSRF token", (b, path, form) => b.post(path, { ...form, _csrf: "" })],
  ["with another browser's CSRF token", async (b, path, form) => {
    const other = new CookieBrowser(t.app);
    await other.get("/us/login");
    return b.post(path, { ...form, _csrf: other.csrf });
  }],
  ["with the right token from a foreign Origin", (b, path, form) => b.post(path, form, { headers: { Origin: "https://evil.example" } })],
];

describe.each(forms)("POST %s", (path, form) => {
  // Shared by the forgeries: each one must leave it signed in for the next.
  let browser: CookieBrowser;
  beforeAll(async () => {
    browser = await signedIn();
  });

  it.each(forgeries)("is refused %s with a readable 403 page, and nothing happens", async (_label, forge) => {
    const session = browser.cookies.get("gh_session");
    const res = await forge(browser, path, form());
    expect(res.status).toBe(403);
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    expect(res.text).toContain("<h1>Invalid or missing CSRF token</h1>");
    expect(res.headers["set-cookie"]).toBeUndefined();
    expect(browser.cookies.get("gh_session")).toBe(session);
    expect((await browser.get("/account")).status).toBe(200);
  });

  it("is accepted with this browser's token and our own Origin", async () => {
    const res = await (await signedIn()).post(path, form(), { headers: { Origin: OUR_ORIGIN } });
    expect(res.status).not.toBe(403);
    expect([303, 401]).toContain(res.status); // 401: the MFA step without a pending login
  });
});

it("answers an API client's forged post with problem+json csrf_failed", async () => {
  const res = await (await signedIn()).post("/logout", {}, { withCsrf: false, headers: { Accept: "application/json" } });
  expect(res.status).toBe(403);
  expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
  expect(JSON.parse(res.text)).toMatchObject({ status: 403, code: "csrf_failed" });
});

it("leaves the other sessions alive after a forged \"sign out all other sessions\"", async () => {
  const first = await signedIn();
  const second = await signedIn();
  await second.post("/account/sessions/revoke", { session_id: "others" }, { headers: { Origin: "https://evil.example" } });
  expect((await first.get("/account")).status).toBe(200);
});
