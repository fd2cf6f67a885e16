// An admin tightens a tenant's IP allowlist: a dry run must show who would be locked out, from the
// addresses really seen, and must not change the tenant (or audit a change) while doing so.
import { TestBrowser } from "../../support/browser";
import { checkedAgent, startTestApp, uniqueSlug, type TestApp } from "../../support/harness";

const DAY_MS = 24 * 60 * 60 * 1000;
const password = "correct horse battery staple";

let t: TestApp;
let slug: string;
let tenantId: string;
const ids: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestApp();
  slug = uniqueSlug("allow");
  tenantId = (await t.api().post("/api/v1/tenants").send({ slug, name: "Allow Co", region: "us", mfaRequired: false }).expect(201)).body.id;
  for (const name of ["office", "home", "traveller", "v6", "cancelled", "walker"]) {
    const res = await t.api().post(`/api/v1/tenants/${slug}/users`).send({ email: `${name}@allow.example`, name, kind: "contractor", password });
    ids[name] = res.body.id;
  }

  await signIn("office", "203.0.113.5");
  await signIn("home", "198.51.100.7");
  await login("home", "198.51.100.7", 2 * DAY_MS);
  await login("traveller", "192.0.2.9", 10 * DAY_MS);
  await login("traveller", "192.0.2.99", 40 * DAY_MS); // older than the 30-day window
  await signIn("v6", "2001:db8::1");
  await login("cancelled", "192.0.2.50", DAY_MS);
  await t.api().patch(`/api/v1/tenants/${slug}/users/${ids.cancelled}`).send({ status: "deactivated" }).expect(200);

  // One real local login (from supertest's loopback address): a session and a login.succeeded event.
  const browser = new TestBrowser(t.app);
  await browser.get(`/us/login?tenant=${slug}`);
  expect((await browser.post("/us/login", { tenant: slug, email: "walker@allow.example", password })).headers.location).toBe("/us/mfa/setup");
  await browser.get("/us/mfa/setup");
  expect((await browser.post("/us/mfa/setup/skip", {})).status).toBe(303);
});
afterAll(async () => {
  await t.close();
});

function signIn(user: string, ip: string) {
  return t.container.sessions.startSession({
    user: { id: ids[user]!, tenantId, email: `${user}@example.test`, name: "Someone" }, tenant: { slug: "allow-co", region: "us", sessionIdleMinutes: 30, sessionAbsoluteHours: 12 },
    method: "password", assurance: "aal1", amr: ["pwd"], ip, userAgent: "test",
  });
}

function login(user: string, ip: string, agoMs: number) {
  return t.container.infra.db.auditEvent.create({
    data: {
      type: "login.succeeded", tenantId, actorType: "user", actorId: ids[user]!, ip, targetType: "user", targetId: ids[user]!,
      data: { method: "password" }, createdAt: new Date(Date.now() - agoMs),
    },
  });
}

const tenantUrl = (tenant = slug) => `/api/v1/tenants/${tenant}`;
const tightened = { ipAllowlist: ["203.0.113.0/24", "2001:db8::/32"], name: "Allow Co (locked down)" };

describe("PATCH /api/v1/tenants/{slug}?dryRun=true", () => {
  it("lists each active user and address the new allowlist would block, from live sessions and 30 days of logins", async () => {
    const res = await t.api().patch(`${tenantUrl()}?dryRun=true`).send(tightened);
    expect(res.status).toBe(200);
    expect(res.body.dryRun).toBe(true);
    expect(res.body.tenant).toMatchObject({ slug, name: "Allow Co (locked down)", ipAllowlist: ["203.0.113.0/24", "2001:db8::/32"] });

    const blocked = res.body.blocked.map((b: { email: string; ip: string }) => `${b.email} ${b.ip}`).sort();
    expect(blocked).toEqual(["home@allow.example 198.51.100.7", "traveller@allow.example 192.0.2.9", "walker@allow.example 127.0.0.1"]);
    const traveller = res.body.blocked.find((b: { email: string }) => b.email === "traveller@allow.example");
    expect(traveller.userId).toBe(ids.traveller);
    expect(Date.now() - Date.parse(traveller.lastSeenAt)).toBeGreaterThanOrEqual(10 * DAY_MS);
    // The live session is more recent than the two-day-old login from the same address.
    const home = res.body.blocked.find((b: { email: string }) => b.email === "home@allow.example");
    expect(Date.now() - Date.parse(home.lastSeenAt)).toBeLessThan(DAY_MS);
  });

  it("writes nothing: the tenant and its audit trail are unchanged", async () => {
    const before = (await t.api().get(tenantUrl())).body;
    await t.api().patch(`${tenantUrl()}?dryRun=true`).send(tightened).expect(200);
    expect((await t.api().get(tenantUrl())).body).toEqual(before);
    const audit = await t.api().get(`${tenantUrl()}/audit-events`).query({ type: "tenant.updated" });
    expect(audit.body.items).toEqual([]);
  });

  it("blocks nobody with an empty allowlist", async () => {
    const res = await t.api().patch(`${tenantUrl()}?dryRun=true`).send({ ipAllowlist: [] });
    expect(res.body).toMatchObject({ dryRun: true, blocked: [] });
  });

  it("refuses a dryRun value it does not understand rather than writing", async () => {
    const res = await t.api().patch(`${tenantUrl()}?dryRun=yes`).send(tightened);
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual(["dryRun"]);
    expect((await t.api().get(tenantUrl())).body.ipAllowlist).toEqual([]);
  });

  it("gives a key bound to another tenant 404", async () => {
    const other = uniqueSlug("allow-other");
    await t.api().post("/api/v1/tenants").send({ slug: other, name: "Other", region: "us" }).expect(201);
    const key = await t.api().post("/api/v1/api-keys").send({ name: "other", scopes: ["tenants:write"], tenant: other }).expect(201);
    const res = await checkedAgent(t.app, key.body.key).patch(`${tenantUrl()}?dryRun=true`).send(tightened);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe("not_found");
  });

  it("without dryRun (or with dryRun=false) applies the update as before", async () => {
    const res = await t.api().patch(`${tenantUrl()}?dryRun=false`).send(tightened);
    expect(res.status).toBe(200);
    expect(res.body).not.toHaveProperty("dryRun");
    expect(res.body.ipAllowlist).toEqual(["203.0.113.0/24", "2001:db8::/32"]);
    const plain = await t.api().patch(tenantUrl()).send({ name: "Allow Co" });
    expect(plain.body).toMatchObject({ name: "Allow Co", ipAllowlist: ["203.0.113.0/24", "2001:db8::/32"] });
  });
});
