import { startTestApp, uniqueSlug, type TestApp } from "../../support/harness";

let t: TestApp;
let slug: string;
beforeAll(async () => {
  t = await startTestApp();
  slug = uniqueSlug("audit");
  await t.api().post("/api/v1/tenants").send({ slug, name: "Audited", region: "us" }).expect(201);
  for (const n of [1, 2, 3]) {
    await t.api().post(`/api/v1/tenants/${slug}/users`).set("X-Request-Id", `req-audit-${n}-abcdef`).send({ email: `u${n}@audit.example`, name: `U${n}`, kind: "member" }).expect(201);
  }
  await t.api().patch(`/api/v1/tenants/${slug}`).send({ mfaRequired: false }).expect(200);
});
afterAll(async () => {
  await t.close();
});

const events = () => t.api().get(`/api/v1/tenants/${slug}/audit-events`);

describe("audit events API", () => {
  it("lists the tenant's events newest first with actor, ip and request id", async () => {
    const res = await events();
    expect(res.status).toBe(200);
    expect(res.body.items.map((e: { type: string }) => e.type)).toEqual(["tenant.updated", "user.created", "user.created", "user.created", "tenant.created"]);
    const userCreated = res.body.items[1];
    expect(userCreated).toMatchObject({
      actor: { type: "api_key", id: expect.any(String) },
      ip: expect.stringMatching(/^(127\.0\.0\.1|::1)$/),
      requestId: "req-audit-3-abcdef",
      target: { type: "user", id: expect.any(String) },
      data: { after: { email: "u3@audit.example" } },
    });
    expect(res.body.items[0].data).toEqual({ before: { mfaRequired: true }, after: { mfaRequired: false } });
  });

  it("filters by type", async () => {
    const res = await events().query({ type: "tenant.created" });
    expect(res.body.items).toHaveLength(1);
    expect(res.body.items[0].type).toBe("tenant.created");
  });

  it("filters by time: nothing since a moment in the future", async () => {
    const res = await events().query({ since: new Date(Date.now() + 60_000).toISOString() });
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([]);
  });

  it("pages with nextCursor without gaps or repeats", async () => {
    const all = (await events()).body.items.map((e: { id: string }) => e.id);
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await events().query({ limit: 2, ...(cursor ? { cursor } : {}) });
      paged.push(...res.body.items.map((e: { id: string }) => e.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(paged).toEqual(all);
  });

  it.each([
    ["an unknown event type", { type: "user.exploded" }, "type.0"],
    ["a malformed time", { since: "yesterday" }, "since"],
    ["a forged cursor", { cursor: "bm90LWEtY3Vyc29y" }, "cursor"],
    ["a limit above 200", { limit: 500 }, "limit"],
  ])("refuses %s with 400", async (_label, query, path) => {
    const res = await events().query(query);
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });
});
