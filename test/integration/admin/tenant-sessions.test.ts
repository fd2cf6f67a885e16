// An incident in one tenant (a leaked cookie jar, a stolen laptop fleet): support lists every live session
// of the tenant and ends them all at once, without touching passwords. Another tenant's sessions stay live,
// and a key bound to another tenant learns nothing and ends nothing.
import type { Session } from "../../../src/sessions/session";
import { checkedAgent, startTestApp, uniqueSlug, type TestApp } from "../../support/harness";

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

type Tenant = { slug: string; id: string };

async function tenantWithUsers(label: string, users: number): Promise<Tenant & { userIds: string[] }> {
  const slug = uniqueSlug(label);
  const id = (await t.api().post("/api/v1/tenants").send({ slug, name: "Sessions Co", region: "us" }).expect(201)).body.id as string;
  const userIds: string[] = [];
  for (let i = 0; i < users; i += 1) {
    userIds.push((await t.api().post(`/api/v1/tenants/${slug}/users`).send({ email: `u${i}@${slug}.example`, name: "U", kind: "member" }).expect(201)).body.id);
  }
  return { slug, id, userIds };
}

function signIn(userId: string, tenantId: string): Promise<{ token: string; session: Session }> {
  return t.container.sessions.startSession({
    user: { id: userId, tenantId, email: "someone@example.test", name: "Someone" },
    tenant: { slug: "any", region: "us", sessionIdleMinutes: 30, sessionAbsoluteHours: 12 },
    method: "password", assurance: "aal1", amr: ["pwd"], ip: "203.0.113.7", userAgent: "Mozilla/5.0 (test)",
  });
}

async function keyWith(scopes: string[], tenant?: string): Promise<string> {
  return (await t.api().post("/api/v1/api-keys").send({ name: "k", scopes, ...(tenant ? { tenant } : {}) }).expect(201)).body.key;
}

const live = async (token: string) => (await t.container.sessions.validate(token)) !== null;

describe("admin API: a tenant's sessions", () => {
  it("lists every live session of the tenant with its user, newest first, and never a token", async () => {
    const tenant = await tenantWithUsers("tsess-list", 2);
    const other = await tenantWithUsers("tsess-other", 1);
    const mine = [await signIn(tenant.userIds[0]!, tenant.id), await signIn(tenant.userIds[1]!, tenant.id), await signIn(tenant.userIds[1]!, tenant.id)];
    const theirs = await signIn(other.userIds[0]!, other.id);

    const res = await t.api().get(`/api/v1/tenants/${tenant.slug}/sessions`);
    expect(res.status).toBe(200);
    expect(res.body.nextCursor).toBeNull();
    const items = res.body.items as { id: string; userId: string; createdAt: string }[];
    expect(items.map((s) => s.id).sort()).toEqual(mine.map((m) => m.session.id).sort());
    expect(items.find((s) => s.id === mine[0]!.session.id)).toMatchObject({ userId: tenant.userIds[0], method: "password", ip: "203.0.113.7" });
    const created = items.map((s) => s.createdAt);
    expect(created).toEqual([...created].sort().reverse());
    for (const token of [...mine.map((m) => m.token), theirs.token]) expect(res.text).not.toContain(token);
    expect(res.text).not.toContain(theirs.session.id);
  });

  it("pages through the sessions with a cursor: every session once, and a forged cursor is a 400", async () => {
    const tenant = await tenantWithUsers("tsess-page", 1);
    const ids = [];
    for (let i = 0; i < 5; i += 1) ids.push((await signIn(tenant.userIds[0]!, tenant.id)).session.id);

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await t.api().get(`/api/v1/tenants/${tenant.slug}/sessions`).query({ limit: 2, ...(cursor ? { cursor } : {}) }).expect(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.items.map((s: { id: string }) => s.id));
      cursor = res.body.nextCursor ?? undefined;
      pages += 1;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual(ids.sort());

    const forged = await t.api().get(`/api/v1/tenants/${tenant.slug}/sessions`).query({ cursor: Buffer.from("not a cursor").toString("base64url") });
    expect(forged.status).toBe(400);
  });

  it("ends every session of the tenant and audits it once; another tenant's sessions stay live", async () => {
    const tenant = await tenantWithUsers("tsess-end", 2);
    const other = await tenantWithUsers("tsess-bystander", 1);
    const mine = [await signIn(tenant.userIds[0]!, tenant.id), await signIn(tenant.userIds[1]!, tenant.id)];
    const theirs = await signIn(other.userIds[0]!, other.id);

    const res = await t.api().delete(`/api/v1/tenants/${tenant.slug}/sessions`);
    expect([res.status, res.body]).toEqual([200, { revoked: 2 }]);
    for (const { token } of mine) expect(await live(token)).toBe(false);
    expect(await live(theirs.token)).toBe(true);
    expect((await t.api().get(`/api/v1/tenants/${tenant.slug}/sessions`).expect(200)).body.items).toEqual([]);

    const events = (await t.api().get(`/api/v1/tenants/${tenant.slug}/audit-events`).query({ type: "session.revoked" }).expect(200)).body.items;
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ target: { type: "tenant", id: tenant.id }, data: { by: "admin", scope: "tenant", count: 2 } });
    // Ending them again is allowed, ends nothing, and is audited too.
    expect((await t.api().delete(`/api/v1/tenants/${tenant.slug}/sessions`).expect(200)).body).toEqual({ revoked: 0 });
  });
});

describe("admin API: a tenant's sessions, to a key that may not see them", () => {
  it("answers 404 to a key bound to another tenant, which ends nothing", async () => {
    // The attack: a key for tenant B signs out (or spies on) everyone in tenant A.
    const tenant = await tenantWithUsers("tsess-victim", 1);
    const attacker = await tenantWithUsers("tsess-attacker", 0);
    const victim = await signIn(tenant.userIds[0]!, tenant.id);
    const key = await keyWith(["users:read", "users:write"], attacker.slug);
    const api = checkedAgent(t.app, key);

    expect((await api.get(`/api/v1/tenants/${tenant.slug}/sessions`)).status).toBe(404);
    expect((await api.delete(`/api/v1/tenants/${tenant.slug}/sessions`)).status).toBe(404);
    expect(await live(victim.token)).toBe(true);
  });

  it("refuses to end the sessions for a key that may only read them", async () => {
    const tenant = await tenantWithUsers("tsess-readonly", 1);
    const session = await signIn(tenant.userIds[0]!, tenant.id);
    const api = checkedAgent(t.app, await keyWith(["users:read"]));

    expect((await api.get(`/api/v1/tenants/${tenant.slug}/sessions`)).status).toBe(200);
    expect((await api.delete(`/api/v1/tenants/${tenant.slug}/sessions`)).status).toBe(403);
    expect(await live(session.token)).toBe(true);
  });
});
