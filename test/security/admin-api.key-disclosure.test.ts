// Attack: someone who reads the database, the API or the logs recovers a usable API key.
import { sha256Hex } from "../../src/platform/crypto";
import { startTestApp, type TestApp } from "../support/harness";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

describe("API key storage and disclosure", () => {
  it("stores only the SHA-256 of a key and shows the key once", async () => {
    const created = await t.api().post("/api/v1/api-keys").send({ name: "ci", scopes: ["tenants:read"] });
    expect(created.status).toBe(201);
    const key: string = created.body.key;
    expect(key).toMatch(/^gh_[A-Za-z0-9_-]{43}$/);

    const row = await t.container.infra.db.apiKey.findUniqueOrThrow({ where: { id: created.body.id } });
    expect(row.keyHash).toBe(sha256Hex(key));
    expect(JSON.stringify(row)).not.toContain(key.slice(3));

    const read = await t.api().get(`/api/v1/api-keys/${created.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body.key).toBeUndefined();
    expect(JSON.stringify(read.body)).not.toContain(key.slice(10));
    const list = await t.api().get("/api/v1/api-keys");
    expect(JSON.stringify(list.body)).not.toContain(key.slice(10));
  });

  it("records last-used time when a key authenticates", async () => {
    const created = (await t.api().post("/api/v1/api-keys").send({ name: "used", scopes: ["tenants:read"] }).expect(201)).body;
    expect(created.lastUsedAt).toBeNull();
    await t.api().get("/api/v1/tenants").set("Authorization", `Bearer ${created.key}`).expect(200);
    const read = await t.api().get(`/api/v1/api-keys/${created.id}`);
    expect(read.body.lastUsedAt).toEqual(expect.any(String));
  });

  it.each([
    ["no Authorization header", undefined],
    ["a Basic credential", "Basic dXNlcjpwYXNz"],
    ["an unknown bearer key", "Bearer gh_thisisnotarealkeyatallthisisnotarealkeyatall"],
    ["an empty bearer", "Bearer "],
  ])("answers 401 problem+json with WWW-Authenticate for %s", async (_label, header) => {
    const req = t.api().get("/api/v1/tenants").set("Authorization", header ?? "");
    const res = await req;
    expect(res.status).toBe(401);
    expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(res.headers["www-authenticate"]).toMatch(/^Bearer/);
    expect(res.body).toMatchObject({ status: 401, code: expect.stringMatching(/^(unauthenticated|invalid_api_key)$/) });
  });
});
