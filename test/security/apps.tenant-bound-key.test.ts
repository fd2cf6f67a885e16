// A support key bound to one customer tries to read or change another customer's product apps, or to open an
// app to every tenant (which would let its app sign in users of all customers).
import { checkedAgent, startTestApp, type TestApp } from "../support/harness";
import { createTenant } from "../support/login-helpers";

let t: TestApp;
let mine: string;
let theirs: string;
let bound: ReturnType<typeof checkedAgent>;

beforeAll(async () => {
  t = await startTestApp();
  [mine, theirs] = [await createTenant(t), await createTenant(t)];
  const key = await t.api().post("/api/v1/api-keys").send({ name: "support", scopes: ["applications:write", "api_keys:write"], tenant: mine }).expect(201);
  bound = checkedAgent(t.app, key.body.key);
});
afterAll(() => t.close());

const app = (tenants?: string[]) => ({ name: "App", redirectUris: ["https://app.example/cb"], ...(tenants ? { tenants } : {}) });

it("cannot register an app for every tenant, nor for another tenant", async () => {
  expect((await bound.post("/api/v1/applications").send(app()).expect(403)).body.code).toBe("forbidden");
  expect((await bound.post("/api/v1/applications").send(app([theirs])).expect(404)).body.code).toBe("not_found");
  expect((await bound.post("/api/v1/applications").send(app([mine, theirs])).expect(404)).body.code).toBe("not_found");
});

it("sees and changes only apps restricted to exactly its tenant", async () => {
  const own = await bound.post("/api/v1/applications").send(app([mine])).expect(201);
  const global = await t.api().post("/api/v1/applications").send(app()).expect(201);
  const shared = await t.api().post("/api/v1/applications").send(app([mine, theirs])).expect(201);
  const other = await t.api().post("/api/v1/applications").send(app([theirs])).expect(201);

  const listed = await bound.get("/api/v1/applications?limit=200").expect(200);
  expect(listed.body.items.map((item: { id: string }) => item.id)).toEqual([own.body.id]);
  for (const hidden of [global, shared, other]) {
    await bound.get(`/api/v1/applications/${hidden.body.id}`).expect(404);
    await bound.patch(`/api/v1/applications/${hidden.body.id}`).send({ name: "Mine now" }).expect(404);
    await bound.get(`/api/v1/applications/${hidden.body.id}/backchannel-logouts`).expect(404);
    await bound.post(`/api/v1/applications/${hidden.body.id}/backchannel-logouts/retry`).expect(404);
    await bound.delete(`/api/v1/applications/${hidden.body.id}`).expect(404);
  }
  expect((await bound.patch(`/api/v1/applications/${own.body.id}`).send({ tenants: null }).expect(403)).body.code).toBe("forbidden");
  await bound.patch(`/api/v1/applications/${own.body.id}`).send({ tenants: [theirs] }).expect(404);
  await bound.patch(`/api/v1/applications/${own.body.id}`).send({ name: "Renamed" }).expect(200);
  expect((await bound.get(`/api/v1/applications/${own.body.id}/backchannel-logouts`).expect(200)).body).toEqual({ pending: 0, failed: 0, recentFailures: [] });
});

it("cannot list or rotate the OpenID provider's signing keys, which serve every tenant", async () => {
  expect((await bound.get("/api/v1/oidc/signing-keys").expect(403)).body.code).toBe("forbidden");
  expect((await bound.post("/api/v1/oidc/signing-keys/rotate").expect(403)).body.code).toBe("forbidden");
});
