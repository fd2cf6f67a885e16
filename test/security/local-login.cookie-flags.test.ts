// Attack: get at the login cookies — read them from a page script (XSS), sniff them over plain HTTP, have them sent along with cross-site requests, or overwrite them from a sibling subdomain.
import type supertest from "supertest";
import { startTestApp, type TestApp } from "../support/harness";
import { CookieBrowser, createTenant, createUser, PASSWORD, setCookiesOf, type SetCookie } from "../support/login-helpers";

let https: TestApp;
let http: TestApp;
const slugs = new Map<TestApp, string>();

beforeAll(async () => {
  [https, http] = await Promise.all([startTestApp({ PUBLIC_URL: "https://login.example.test" }), startTestApp({ PUBLIC_URL: "http://login.example.test" })]);
  for (const t of [https, http]) {
    const slug = await createTenant(t, { mfaRequired: false });
    await createUser(t, slug, { email: "user@cookies.example" });
    slugs.set(t, slug);
  }
});
afterAll(async () => {
  await Promise.all([https.close(), http.close()]);
});

/** Every Set-Cookie of a whole sign-in and sign-out: browser id, pending login set and cleared, session set and cleared. */
async function cookiesOfAFullLogin(t: TestApp): Promise<SetCookie[]> {
  const browser = new CookieBrowser(t.app);
  const seen: SetCookie[] = [];
  const record = (res: supertest.Response) => {
    seen.push(...setCookiesOf(res));
    return res;
  };
  record(await browser.get("/us/login"));
  record(await browser.post("/us/login", { tenant: slugs.get(t)!, email: "user@cookies.example", password: PASSWORD }));
  expect(record(await browser.post("/us/mfa/setup/skip", {})).status).toBe(303);
  expect(record(await browser.get("/account")).status).toBe(200);
  record(await browser.post("/logout", {}));
  return seen;
}

const flagsOf = (c: SetCookie) => ({
  name: c.name,
  httpOnly: c.attributes.httponly === true,
  secure: c.attributes.secure === true,
  sameSite: String(c.attributes.samesite).toLowerCase(),
  path: c.attributes.path,
  domain: c.attributes.domain,
});

describe("with an https PUBLIC_URL", () => {
  it("sets every cookie as __Host-, Secure, HttpOnly, SameSite=Lax, Path=/ and without Domain, when set and when cleared", async () => {
    const seen = await cookiesOfAFullLogin(https);
    expect(new Set(seen.map((c) => c.name))).toEqual(new Set(["__Host-gh_browser", "__Host-gh_pending", "__Host-gh_session"]));
    expect(seen.some((c) => c.name === "__Host-gh_session" && c.value === "")).toBe(true); // logout clears it
    for (const cookie of seen) {
      expect(flagsOf(cookie)).toEqual({ name: cookie.name, httpOnly: true, secure: true, sameSite: "lax", path: "/", domain: undefined });
    }
  });

  it("ignores a session token sent under the unprefixed name a sibling subdomain could set", async () => {
    const browser = new CookieBrowser(https.app);
    await browser.get("/us/login");
    await browser.post("/us/login", { tenant: slugs.get(https)!, email: "user@cookies.example", password: PASSWORD });
    await browser.post("/us/mfa/setup/skip", {});
    const token = browser.cookies.get("__Host-gh_session")!;
    expect((await browser.get("/account")).status).toBe(200);

    const tossed = new CookieBrowser(https.app);
    tossed.cookies.set("gh_session", token);
    expect((await tossed.get("/account")).status).toBe(303);
  });
});

describe("with an http PUBLIC_URL (development)", () => {
  it("sets every cookie HttpOnly, SameSite=Lax, Path=/, without Domain, and without Secure or the __Host- prefix", async () => {
    const seen = await cookiesOfAFullLogin(http);
    expect(new Set(seen.map((c) => c.name))).toEqual(new Set(["gh_browser", "gh_pending", "gh_session"]));
    for (const cookie of seen) {
      expect(flagsOf(cookie)).toEqual({ name: cookie.name, httpOnly: true, secure: false, sameSite: "lax", path: "/", domain: undefined });
    }
  });
});
