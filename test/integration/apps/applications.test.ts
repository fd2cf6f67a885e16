// The applications registry: product apps as OpenID Connect clients, registered, changed and removed through
// the admin API (every response checked against openapi.yaml), audited, with the secret shown once.
import { sha256Hex } from "../../../src/platform/crypto";
import { checkedAgent, startTestApp, type TestApp } from "../../support/harness";
import { createTenant } from "../../support/login-helpers";

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

const db = () => t.container.infra.db;
const body = (extra: Record<string, unknown> = {}) => ({ name: "Docs portal", redirectUris: ["https://docs.example.com/callback"], ...extra });

describe("POST /api/v1/applications", () => {
  it("registers an app with its defaults and shows the client secret once, storing only its hash", async () => {
    const res = await t.api().post("/api/v1/applications").send(body()).expect(201);
    expect(res.body).toMatchObject({
      name: "Docs portal", redirectUris: ["https://docs.example.com/callback"], postLogoutRedirectUris: [], backchannelLogoutUri: null,
      tenants: null, firstParty: true, refreshTokens: false, tokenEndpointAuthMethod: "client_secret_basic",
    });
    const row = await db().application.findUniqueOrThrow({ where: { id: res.body.id } });
    expect(row.clientId).toBe(res.body.clientId);
    expect(row.clientSecretHash).toBe(sha256Hex(res.body.clientSecret));
    expect(JSON.stringify(row)).not.toContain(res.body.clientSecret);

    const read = await t.api().get(`/api/v1/applications/${res.body.id}`).expect(200);
    expect(read.body).not.toHaveProperty("clientSecret");
    expect(read.text).not.toContain(res.body.clientSecret);
  });

  it("restricts an app to tenants named by slug, and audits it in each tenant's trail", async () => {
    const [a, b] = [await createTenant(t), await createTenant(t)];
    const res = await t.api().post("/api/v1/applications").send(body({ tenants: [b, a, a], firstParty: false, refreshTokens: true })).expect(201);
    expect(res.body.tenants).toEqual([a, b].sort());
    for (const slug of [a, b]) {
      const events = await t.api().get(`/api/v1/tenants/${slug}/audit-events?type=application.created`).expect(200);
      expect(events.body.items).toHaveLength(1);
      expect(events.body.items[0].target).toEqual({ type: "application", id: res.body.id });
      expect(JSON.stringify(events.body.items[0].data)).not.toContain(res.body.clientSecret);
    }
  });

  it.each([
    ["a relative redirect URI", { redirectUris: ["/callback"] }],
    ["plain http to a public host", { redirectUris: ["http://docs.example.com/callback"] }],
    ["a fragment", { redirectUris: ["https://docs.example.com/callback#x"] }],
    ["credentials in the URI", { redirectUris: ["https://user:pw@docs.example.com/callback"] }],
    ["no redirect URI", { redirectUris: [] }],
    ["a javascript: back-channel URI", { backchannelLogoutUri: "javascript:alert(1)" }],
    ["an unknown field", { clientSecret: "chosen" }],
  ])("refuses %s with 400", async (_name, extra) => {
    const res = await t.api().post("/api/v1/applications").send(body(extra)).expect(400);
    expect(res.body.code).toBe("validation_failed");
  });

  it("accepts plain http on a loopback host (an app on a developer's machine)", async () => {
    await t.api().post("/api/v1/applications").send(body({ redirectUris: ["http://127.0.0.1:8080/cb", "http://localhost:3000/cb"] })).expect(201);
  });

  it("answers 404 for a tenant that does not exist", async () => {
    const res = await t.api().post("/api/v1/applications").send(body({ tenants: ["no-such-tenant"] })).expect(404);
    expect(res.body.code).toBe("not_found");
  });
});

describe("GET, PATCH, DELETE /api/v1/applications/{id}", () => {
  it("lists apps in pages", async () => {
    for (let i = 0; i < 3; i++) await t.api().post("/api/v1/applications").send(body({ name: `App ${i}` })).expect(201);
    const first = await t.api().get("/api/v1/applications?limit=2").expect(200);
    expect(first.body.items).toHaveLength(2);
    const second = await t.api().get(`/api/v1/applications?limit=2&cursor=${first.body.nextCursor}`).expect(200);
    expect(second.body.items[0].id > first.body.items[1].id).toBe(true);
  });

  it("updates fields, opens the app to every tenant with tenants: null, and audits the change", async () => {
    const slug = await createTenant(t);
    const created = await t.api().post("/api/v1/applications").send(body({ tenants: [slug] })).expect(201);
    const res = await t.api().patch(`/api/v1/applications/${created.body.id}`)
      .send({ name: "Renamed", tenants: null, backchannelLogoutUri: "https://docs.example.com/logout", postLogoutRedirectUris: ["https://docs.example.com/bye"] })
      .expect(200);
    expect(res.body).toMatchObject({ name: "Renamed", tenants: null, backchannelLogoutUri: "https://docs.example.com/logout", clientId: created.body.clientId });
    const events = await t.api().get(`/api/v1/tenants/${slug}/audit-events?type=application.updated`).expect(200);
    expect(events.body.items[0].data).toMatchObject({ before: { name: "Docs portal", tenants: [slug] }, after: { name: "Renamed", tenants: null } });
    const cleared = await t.api().patch(`/api/v1/applications/${created.body.id}`).send({ backchannelLogoutUri: null }).expect(200);
    expect(cleared.body.backchannelLogoutUri).toBeNull();
  });

  it("deletes an app (204), after which it is 404", async () => {
    const created = await t.api().post("/api/v1/applications").send(body()).expect(201);
    await t.api().delete(`/api/v1/applications/${created.body.id}`).expect(204);
    await t.api().get(`/api/v1/applications/${created.body.id}`).expect(404);
    await t.api().delete(`/api/v1/applications/${created.body.id}`).expect(404);
    expect(await db().auditEvent.count({ where: { type: "application.deleted", targetId: created.body.id } })).toBe(1);
  });

  it("answers 404 for an id that is not a UUID", async () => {
    await t.api().get("/api/v1/applications/not-a-uuid").expect(404);
  });
});

describe("scopes", () => {
  it("needs applications:read to read and applications:write to change", async () => {
    const reader = await t.api().post("/api/v1/api-keys").send({ name: "reader", scopes: ["applications:read"] }).expect(201);
    const created = await t.api().post("/api/v1/applications").send(body()).expect(201);
    const asReader = checkedAgent(t.app, reader.body.key);
    await asReader.get(`/api/v1/applications/${created.body.id}`).expect(200);
    const refused = await asReader.post("/api/v1/applications").send(body()).expect(403);
    expect(refused.body.code).toBe("insufficient_scope");
    await asReader.post("/api/v1/oidc/signing-keys/rotate").expect(403);
  });
});
