import { startTestApp, uniqueSlug, type TestApp } from "../../support/harness";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

describe("tenants admin API", () => {
  it("creates a tenant with defaults and reads it back", async () => {
    const slug = uniqueSlug();
    const created = await t.api().post("/api/v1/tenants").send({ slug, name: "Acme", region: "eu" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: expect.any(String), slug, name: "Acme", region: "eu", mfaRequired: true, ipAllowlist: [], emailDomains: [],
      sessionIdleMinutes: 30, sessionAbsoluteHours: 12, sso: { enabled: false, enforced: false }, securityContactEmail: null,
    });
    const read = await t.api().get(`/api/v1/tenants/${slug}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);
  });

  it("normalises CIDRs and email domains, and updates with PATCH", async () => {
    const slug = uniqueSlug();
    await t.api().post("/api/v1/tenants").send({ slug, name: "Acme", region: "us" }).expect(201);
    const patched = await t.api().patch(`/api/v1/tenants/${slug}`).send({
      name: "Acme Corp", ipAllowlist: ["10.1.2.3/8", "::ffff:192.0.2.1", "2001:db8::1/32"], emailDomains: ["Acme.COM", "acme.com"], sessionIdleMinutes: 15,
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: "Acme Corp", ipAllowlist: ["10.0.0.0/8", "192.0.2.1/32", "2001:db8::/32"], emailDomains: ["acme.com"], sessionIdleMinutes: 15 });
  });

  it("refuses a duplicate slug with 409 tenant_slug_taken", async () => {
    const slug = uniqueSlug();
    await t.api().post("/api/v1/tenants").send({ slug, name: "One", region: "us" }).expect(201);
    const again = await t.api().post("/api/v1/tenants").send({ slug, name: "Two", region: "us" });
    expect(again.status).toBe(409);
    expect(again.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(again.body).toMatchObject({ status: 409, code: "tenant_slug_taken" });
  });

  it("refuses an unknown region with 400 naming the field", async () => {
    const res = await t.api().post("/api/v1/tenants").send({ slug: uniqueSlug(), name: "X", region: "mars" });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("validation_failed");
    expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: "region" })]));
  });

  it.each([
    ["a slug with capitals and spaces", { slug: "Not A Slug!", name: "X", region: "us" }, "slug"],
    ["a missing name", { slug: "ok-slug", region: "us" }, "name"],
    ["an invalid CIDR", { slug: "ok-slug", name: "X", region: "us", ipAllowlist: ["10.0.0.0/33"] }, "ipAllowlist.0"],
    ["an idle timeout longer than the absolute one", { slug: "ok-slug", name: "X", region: "us", sessionIdleMinutes: 600, sessionAbsoluteHours: 1 }, "sessionIdleMinutes"],
    ["an unknown field", { slug: "ok-slug", name: "X", region: "us", colour: "red" }, "body"],
    ["mfaRequired that is not a boolean", { slug: "ok-slug", name: "X", region: "us", mfaRequired: "yes" }, "mfaRequired"],
  ])("refuses %s with 400", async (_label, body, path) => {
    const res = await t.api().post("/api/v1/tenants").send(body);
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it("refuses to change the region of an existing tenant", async () => {
    const slug = uniqueSlug();
    await t.api().post("/api/v1/tenants").send({ slug, name: "X", region: "us" }).expect(201);
    const res = await t.api().patch(`/api/v1/tenants/${slug}`).send({ region: "eu" });
    expect(res.status).toBe(400);
    const read = await t.api().get(`/api/v1/tenants/${slug}`);
    expect(read.body.region).toBe("us");
  });

  it("lists tenants page by page with nextCursor", async () => {
    const slugs = [uniqueSlug("page"), uniqueSlug("page"), uniqueSlug("page")];
    for (const slug of slugs) await t.api().post("/api/v1/tenants").send({ slug, name: slug, region: "au" }).expect(201);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await t.api().get("/api/v1/tenants").query({ limit: 2, region: "au", ...(cursor ? { cursor } : {}) });
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.items.map((item: { slug: string }) => item.slug));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(expect.arrayContaining(slugs));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it("answers 404 problem+json for an unknown tenant", async () => {
    const res = await t.api().get("/api/v1/tenants/no-such-tenant-here");
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: "not_found", status: 404, title: expect.any(String), type: expect.any(String) });
  });
});
