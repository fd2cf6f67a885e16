// Attack: an attacker (or an outage) makes Redis unreachable, hoping session checks fail open.
import supertest from "supertest";
import { startTestApp, uniqueSlug, type TestApp } from "../support/harness";

let t: TestApp;
beforeAll(async () => {
  // Port 1 on loopback: nothing listens, every Redis command fails.
  t = await startTestApp({ REDIS_URL: "redis://127.0.0.1:1" });
});
afterAll(async () => {
  await t.close();
});

describe("session store unreachable", () => {
  it("a request carrying a session cookie gets 503, never the page", async () => {
    const res = await supertest(t.app).get("/account").set("Cookie", `gh_session=${"a".repeat(43)}`).set("Accept", "text/html");
    expect(res.status).toBe(503);
    expect(res.text).not.toContain("Your sessions");
  });

  it("/authz answers 401, never a 5xx a proxy might let through", async () => {
    const res = await supertest(t.app).get("/authz").set("Cookie", `gh_session=${"a".repeat(43)}`);
    expect(res.status).toBe(401);
    expect(res.headers["x-auth-user-id"]).toBeUndefined();
  });

  it("the login step answers 503 instead of skipping throttling", async () => {
    const slug = uniqueSlug();
    await t.api().post("/api/v1/tenants").send({ slug, name: "Down", region: "us" }).expect(201);
    const agent = supertest.agent(t.app);
    const page = await agent.get("/us/login").set("Accept", "text/html");
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? "";
    const res = await agent.post("/us/login").type("form").send({ _csrf: csrf, tenant: slug, email: "x@y.example", password: "whatever-password" });
    expect(res.status).toBe(503);
    expect(res.headers["retry-after"]).toBe("5");
  });

  it("/readyz reports the store as unavailable", async () => {
    const res = await supertest(t.app).get("/readyz");
    expect(res.status).toBe(503);
    expect(res.body.checks.kv).toBe("unavailable");
  });
});
