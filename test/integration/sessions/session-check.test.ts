import supertest from "supertest";
import { ManualClock } from "../../../src/platform/clock";
import { startTestApp, type TestApp } from "../../support/harness";
import { adminApi, CookieBrowser, createTenant, createUser, PASSWORD, signInSkippingMfa } from "../../support/login-helpers";
import { expectMatchesSpec } from "../../support/openapi";

let t: TestApp;
let clock: ManualClock;
let slug: string;

beforeAll(async () => {
  clock = new ManualClock(new Date("2026-11-28T09:00:00Z"));
  t = await startTestApp({}, clock);
  slug = await createTenant(t, { mfaRequired: false, sessionIdleMinutes: 30 });
});
afterAll(async () => {
  await t.close();
});

async function signedIn(email: string): Promise<{ browser: CookieBrowser; userId: string; cookie: string }> {
  const userId = await createUser(t, slug, { email });
  const browser = new CookieBrowser(t.app);
  await signInSkippingMfa(browser, { tenant: slug, email, password: PASSWORD });
  return { browser, userId, cookie: `gh_session=${browser.cookies.get("gh_session")}` };
}

const authz = (cookie?: string, query = "") => {
  const req = supertest(t.app).get(`/authz${query}`);
  return cookie ? req.set("Cookie", cookie) : req;
};

describe("GET /authz (forward auth)", () => {
  it("answers 200 with the identity headers for a valid session", async () => {
    const { userId, cookie } = await signedIn("valid@authz.example");
    const res = await authz(cookie);
    expect(res.status).toBe(200);
    expect(res.headers["x-auth-user-id"]).toBe(userId);
    expect(res.headers["x-auth-email"]).toBe("valid@authz.example");
    expect(res.headers["x-auth-tenant"]).toBe(slug);
    expect(res.headers["cache-control"]).toBe("no-store");
  });

  it("answers 401 without a cookie and for a token that is no session", async () => {
    expect((await authz()).status).toBe(401);
    expect((await authz(`gh_session=${"x".repeat(43)}`)).status).toBe(401);
  });

  it("answers 401 once the session is past its idle timeout", async () => {
    const { cookie } = await signedIn("idle@authz.example");
    expect((await authz(cookie)).status).toBe(200);
    clock.advance(31 * 60_000);
    const res = await authz(cookie);
    expect(res.status).toBe(401);
    expect(res.headers["x-auth-user-id"]).toBeUndefined();
  });

  it("answers 401 after an admin revokes the user's sessions", async () => {
    const { userId, cookie } = await signedIn("revoked@authz.example");
    expect((await authz(cookie)).status).toBe(200);
    await supertest(t.app).delete(`/api/v1/tenants/${slug}/users/${userId}/sessions`).set("Authorization", `Bearer ${t.adminToken}`).expect(200);
    expect((await authz(cookie)).status).toBe(401);
  });

  it("answers 401 for a session restricted to a forced password change", async () => {
    const email = "rotated@authz.example";
    const userId = await createUser(t, slug, { email });
    await adminApi(t).post(`/api/v1/tenants/${slug}/users/${userId}/password-reset`).send({ mode: "change_at_next_login", revokeSessions: true, notify: false }).expect(200);
    const browser = new CookieBrowser(t.app);
    await browser.get(`/us/login?tenant=${slug}`);
    const step = await browser.post("/us/login", { tenant: slug, email, password: PASSWORD });
    expect(step.headers.location).toBe("/us/mfa/setup");
    const skipped = await browser.post("/us/mfa/setup/skip", {});
    expect(skipped.headers.location).toBe("/us/password/change");
    const cookie = `gh_session=${browser.cookies.get("gh_session")}`;
    expect((await authz(cookie)).status).toBe(401);
    const json = await supertest(t.app).get("/api/v1/session").set("Cookie", cookie);
    expect(json.status).toBe(403);
    expect(json.body.code).toBe("password_rotation_required");
  });

  it("redirects to the login entry when asked, keeping a local return path", async () => {
    const res = await authz(undefined, "?redirect=1").set("X-Forwarded-Uri", "/reports/42");
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe("/login?return_to=%2Freports%2F42");
    const offsite = await authz(undefined, "?redirect=1").set("X-Forwarded-Uri", "https://evil.example/");
    expect(offsite.headers.location).toBe("/login");
  });
});

describe("GET /api/v1/session", () => {
  it("describes the current session, authenticated by its cookie alone", async () => {
    const { userId, cookie } = await signedIn("json@authz.example");
    const res = await supertest(t.app).get("/api/v1/session").set("Cookie", cookie);
    expect(res.status).toBe(200);
    expectMatchesSpec({ status: res.status, headers: res.headers as Record<string, string>, body: res.body }, "GET", "/api/v1/session");
    expect(res.body).toMatchObject({ user: { id: userId, email: "json@authz.example" }, tenant: { slug }, method: "password", assurance: "aal1", amr: ["pwd"] });
  });

  it("is 401 problem+json without a session, and an API key does not stand in for one", async () => {
    const res = await supertest(t.app).get("/api/v1/session").set("Authorization", `Bearer ${t.adminToken}`);
    expect(res.status).toBe(401);
    expect(res.headers["content-type"]).toContain("application/problem+json");
    expectMatchesSpec({ status: res.status, headers: res.headers as Record<string, string>, body: res.body }, "GET", "/api/v1/session");
  });
});
