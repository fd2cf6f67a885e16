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

  it("answers as openapi.yaml documents it, on GET and HEAD, whatever the case or a trailing slash", async () => {
    const { userId, cookie } = await signedIn("shape@authz.example");
    const spec = (res: supertest.Response) => expectMatchesSpec({ status: res.status, headers: res.headers as Record<string, string>, body: res.body, text: res.text }, "GET", "/authz");
    spec(await authz(cookie));
    spec(await authz());
    spec(await authz(undefined, "?redirect=1"));
    for (const path of ["/authz/", "/AUTHZ", "/authz?x=1"]) {
      expect((await supertest(t.app).get(path).set("Cookie", cookie)).headers["x-auth-user-id"]).toBe(userId);
    }
    const head = await supertest(t.app).head("/authz").set("Cookie", cookie);
    expect(head.status).toBe(200);
    expect(head.headers["x-auth-user-id"]).toBe(userId);
    // Only GET and HEAD are the check: anything else is not found, as any unknown route.
    expect((await supertest(t.app).post("/authz").set("Cookie", cookie)).status).toBe(404);
  });

  it("answers 401 without a cookie and for a token that is no session, and tells the browser to drop the dead cookie", async () => {
    expect((await authz()).status).toBe(401);
    const dead = await authz(`gh_session=${"x".repeat(43)}`);
    expect(dead.status).toBe(401);
    expect(dead.headers["set-cookie"]).toEqual(["gh_session=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax"]);
    expect(dead.headers["x-auth-user-id"]).toBeUndefined();
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

  it("threat: revoked session answered from a copy — checks use this process's copy of the session, and a revocation ends it at the next check", async () => {
    // Attack: a proxy keeps asking with a cookie whose session was just revoked, hoping the instance still
    // holds a copy of the session from the checks before the revocation.
    const lookups = async () => {
      const text = (await supertest(t.app).get("/metrics")).text;
      const count = (result: string) => Number(new RegExp(`gatehouse_session_read_cache_lookups_total\\{result="${result}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
      return { enabled: /gatehouse_session_read_cache_enabled 1/.test(text), hit: count("hit") };
    };
    const { userId, cookie } = await signedIn("copied@authz.example");
    expect((await lookups()).enabled).toBe(true);
    const before = await lookups();
    for (let i = 0; i < 5; i += 1) expect((await authz(cookie)).status).toBe(200);
    // The first check may fetch the session; the others are answered from the copy.
    expect((await lookups()).hit - before.hit).toBeGreaterThanOrEqual(4);
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
    expect((await authz(undefined, "?redirect=true")).status).toBe(303);
    expect((await authz(undefined, "?redirect=0")).status).toBe(401);
  });
});

describe("session copies as configured", () => {
  it("are kept on one Redis node by default, and not at all with SESSION_READ_CACHE_ENTRIES=0, where checks still work", async () => {
    expect(t.container.infra.kv.readCacheStats?.()).toMatchObject({ enabled: true });
    const off = await startTestApp({ SESSION_READ_CACHE_ENTRIES: "0" }, clock);
    try {
      expect(off.container.infra.kv.readCacheStats?.()).toBeUndefined();
      const offSlug = await createTenant(off, { mfaRequired: false });
      await createUser(off, offSlug, { email: "uncopied@authz.example" });
      const browser = new CookieBrowser(off.app);
      await signInSkippingMfa(browser, { tenant: offSlug, email: "uncopied@authz.example", password: PASSWORD });
      const res = await supertest(off.app).get("/authz").set("Cookie", `gh_session=${browser.cookies.get("gh_session")}`);
      expect(res.status).toBe(200);
      expect((await supertest(off.app).get("/metrics")).text).toMatch(/^gatehouse_session_read_cache_enabled 0$/m);
    } finally {
      await off.close();
    }
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
