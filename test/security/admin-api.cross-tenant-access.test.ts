// Attack: a support integration holding a key bound to tenant A reads or changes tenant B's data.
import { checkedAgent, startTestApp, uniqueSlug, type TestApp } from "../support/harness";

let t: TestApp;
let a: string;
let b: string;
let boundKey: string;
let userInB: string;

beforeAll(async () => {
  t = await startTestApp();
  a = uniqueSlug("a");
  b = uniqueSlug("b");
  await t.api().post("/api/v1/tenants").send({ slug: a, name: "A", region: "us" }).expect(201);
  await t.api().post("/api/v1/tenants").send({ slug: b, name: "B", region: "us" }).expect(201);
  userInB = (await t.api().post(`/api/v1/tenants/${b}/users`).send({ email: "victim@b.example", name: "V", kind: "member" }).expect(201)).body.id;
  const key = await t.api().post("/api/v1/api-keys").send({ name: "a-support", scopes: ["tenants:read", "tenants:write", "users:write", "audit:read"], tenant: a });
  expect(key.status).toBe(201);
  boundKey = key.body.key;
});
afterAll(async () => {
  await t.close();
});

const asBound = () => checkedAgent(t.app, boundKey);

describe("a key bound to tenant A", () => {
  it("works on tenant A", async () => {
    expect((await asBound().get(`/api/v1/tenants/${a}`)).status).toBe(200);
    expect((await asBound().post(`/api/v1/tenants/${a}/users`).send({ email: "ok@a.example", name: "Ok", kind: "member" })).status).toBe(201);
  });

  it.each([
    ["read tenant B", "get", () => `/api/v1/tenants/${b}`, undefined],
    ["update tenant B", "patch", () => `/api/v1/tenants/${b}`, { name: "pwned" }],
    ["list B's users", "get", () => `/api/v1/tenants/${b}/users`, undefined],
    ["read a user of B", "get", () => `/api/v1/tenants/${b}/users/${userInB}`, undefined],
    ["deactivate a user of B", "patch", () => `/api/v1/tenants/${b}/users/${userInB}`, { status: "deactivated" }],
    ["create a user in B", "post", () => `/api/v1/tenants/${b}/users`, { email: "x@b.example", name: "X", kind: "member" }],
    ["read B's audit trail", "get", () => `/api/v1/tenants/${b}/audit-events`, undefined],
  ] as const)("gets 404 when it tries to %s, and nothing changes", async (_label, method, path, body) => {
    const res = await asBound()[method](path()).send(body);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe("not_found");
    const victim = await t.api().get(`/api/v1/tenants/${b}/users/${userInB}`);
    expect(victim.body.status).toBe("active");
    expect((await t.api().get(`/api/v1/tenants/${b}`)).body.name).toBe("B");
  });

  it("sees only tenant A when listing tenants", async () => {
    const res = await asBound().get("/api/v1/tenants").query({ limit: 200 });
    expect(res.body.items.map((x: { slug: string }) => x.slug)).toEqual([a]);
  });

  it("cannot create tenants", async () => {
    const res = await asBound().post("/api/v1/tenants").send({ slug: uniqueSlug(), name: "New", region: "us" });
    expect(res.status).toBe(403);
  });
});
