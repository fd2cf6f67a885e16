// Attack: a holder of a narrow API key uses it beyond its scopes, or mints itself a broader key.
import { checkedAgent, startTestApp, uniqueSlug, type TestApp } from "../support/harness";

let t: TestApp;
let slug: string;
const keyWith = async (scopes: string[], tenant?: string) =>
  (await t.api().post("/api/v1/api-keys").send({ name: "narrow", scopes, ...(tenant ? { tenant } : {}) }).expect(201)).body.key as string;
const as = (key: string) => checkedAgent(t.app, key);

beforeAll(async () => {
  t = await startTestApp();
  slug = uniqueSlug();
  await t.api().post("/api/v1/tenants").send({ slug, name: "Scoped", region: "eu" }).expect(201);
});
afterAll(async () => {
  await t.close();
});

describe("API key scopes", () => {
  it("a read-only key cannot write tenants or users (403 insufficient_scope)", async () => {
    const key = await keyWith(["tenants:read"]);
    expect((await as(key).get(`/api/v1/tenants/${slug}`)).status).toBe(200);
    const patch = await as(key).patch(`/api/v1/tenants/${slug}`).send({ name: "changed" });
    expect(patch.status).toBe(403);
    expect(patch.body.code).toBe("insufficient_scope");
    expect((await as(key).post(`/api/v1/tenants/${slug}/users`).send({ email: "u@x.example", name: "U", kind: "member" })).status).toBe(403);
    expect((await t.api().get(`/api/v1/tenants/${slug}`)).body.name).toBe("Scoped");
  });

  it("a key without audit:read cannot read the audit trail", async () => {
    const key = await keyWith(["tenants:write"]);
    expect((await as(key).get(`/api/v1/tenants/${slug}/audit-events`)).status).toBe(403);
  });

  it("a key cannot mint a key with scopes it does not hold", async () => {
    const key = await keyWith(["api_keys:write", "tenants:read"]);
    const res = await as(key).post("/api/v1/api-keys").send({ name: "bigger", scopes: ["tenants:write"] });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe("insufficient_scope");
  });

  it("a tenant-bound key cannot mint an unbound key", async () => {
    const key = await keyWith(["api_keys:write", "tenants:read"], slug);
    const res = await as(key).post("/api/v1/api-keys").send({ name: "escape", scopes: ["tenants:read"] });
    expect(res.status).toBe(403);
  });

  it("a revoked key stops working at once", async () => {
    const created = (await t.api().post("/api/v1/api-keys").send({ name: "short-lived", scopes: ["tenants:read"] }).expect(201)).body;
    expect((await as(created.key).get(`/api/v1/tenants/${slug}`)).status).toBe(200);
    expect((await t.api().delete(`/api/v1/api-keys/${created.id}`)).body.revokedAt).toEqual(expect.any(String));
    const after = await as(created.key).get(`/api/v1/tenants/${slug}`);
    expect(after.status).toBe(401);
    expect(after.body.code).toBe("invalid_api_key");
  });
});
