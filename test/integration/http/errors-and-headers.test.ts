import supertest from "supertest";
import { startTestApp, uniqueSlug, type TestApp } from "../../support/harness";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ JSON_BODY_LIMIT_KB: "4" });
});
afterAll(async () => {
  await t.close();
});

const expectProblem = (res: supertest.Response, status: number, code: string) => {
  expect(res.status).toBe(status);
  expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ type: expect.any(String), title: expect.any(String), status, code, detail: expect.any(String) });
};

describe("error responses", () => {
  it("malformed JSON is a 400 malformed_json", async () => {
    const res = await t.api().post("/api/v1/tenants").set("Content-Type", "application/json").send('{"slug": "x",');
    expectProblem(res, 400, "malformed_json");
  });

  it("a body over the limit is a 413 and creates nothing", async () => {
    const slug = uniqueSlug();
    const res = await t.api().post("/api/v1/tenants").send({ slug, name: "x".repeat(5000), region: "us" });
    expectProblem(res, 413, "payload_too_large");
    expect((await t.api().get(`/api/v1/tenants/${slug}`)).status).toBe(404);
  });

  it("a non-JSON body on the API is a 415", async () => {
    const res = await t.api().post("/api/v1/tenants").set("Content-Type", "text/plain").send("slug=x");
    expectProblem(res, 415, "unsupported_media_type");
  });

  it("an unknown API route is a 404 problem+json", async () => {
    // Not in openapi.yaml by definition, so not through the spec-checking client.
    const res = await supertest(t.app).get("/api/v1/nothing-here").set("Authorization", `Bearer ${t.adminToken}`);
    expectProblem(res, 404, "not_found");
  });

  it("an unknown route is a 404 problem+json for API clients and a readable page for browsers", async () => {
    expectProblem(await supertest(t.app).get("/nowhere"), 404, "not_found");
    const page = await supertest(t.app).get("/nowhere").set("Accept", "text/html,application/xhtml+xml");
    expect(page.status).toBe(404);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.text).toContain("<h1>Not found</h1>");
  });

  it("escapes request data echoed in a browser error page", async () => {
    const page = await supertest(t.app).get("/%3Cscript%3Ealert(1)%3C%2Fscript%3E").set("Accept", "text/html");
    expect(page.status).toBe(404);
    expect(page.text).not.toContain("<script>");
  });
});

describe("baseline hardening", () => {
  it("sends a strict CSP, no X-Powered-By, and a request id", async () => {
    const res = await t.api().get("/api/v1/tenants");
    expect(res.headers["x-powered-by"]).toBeUndefined();
    expect(res.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(res.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(res.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("keeps a well-formed upstream request id and replaces a malformed one", async () => {
    const kept = await t.api().get("/api/v1/tenants").set("X-Request-Id", "upstream-id-1234");
    expect(kept.headers["x-request-id"]).toBe("upstream-id-1234");
    const replaced = await t.api().get("/api/v1/tenants").set("X-Request-Id", "bad id\twith spaces");
    expect(replaced.headers["x-request-id"]).not.toContain("bad");
  });
});

describe("operations endpoints", () => {
  it("/healthz answers 200", async () => {
    const res = await supertest(t.app).get("/healthz");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "ok" });
  });

  it("/readyz reports each dependency", async () => {
    const res = await supertest(t.app).get("/readyz");
    expect(res.status).toBe(200);
    expect(res.body.checks).toEqual({ kv: "ok" });
  });

  it("/metrics exposes request durations by route template, not raw path", async () => {
    await t.api().get(`/api/v1/tenants/${uniqueSlug()}`);
    const res = await supertest(t.app).get("/metrics");
    expect(res.status).toBe(200);
    expect(res.text).toContain("http_request_duration_seconds_bucket");
    expect(res.text).toContain('route="/api/v1/tenants/:slug"');
    expect(res.text).not.toMatch(/route="\/api\/v1\/tenants\/t-[0-9a-f]{10}"/);
  });
});
