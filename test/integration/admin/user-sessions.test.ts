// A user's account is taken over: support lists where they are signed in and ends those sessions.
// A key for another tenant must learn nothing and end nothing; the listing must never leak a token.
import type { Session } from "../../../src/sessions/session";
import { checkedAgent, startTestApp, uniqueSlug, type TestApp } from "../../support/harness";

let t: TestApp;
let slug: string;
let tenantId: string;

beforeAll(async () => {
  t = await startTestApp();
  slug = uniqueSlug("sessions");
  tenantId = (await t.api().post("/api/v1/tenants").send({ slug, name: "Sessions Co", region: "us" }).expect(201)).body.id;
});
afterAll(async () => {
  await t.close();
});

const sessionsUrl = (userId: string, tenant = slug) => `/api/v1/tenants/${tenant}/users/${userId}/sessions`;

async function createUser(email: string, tenant = slug): Promise<string> {
  return (await t.api().post(`/api/v1/tenants/${tenant}/users`).send({ email, name: "U", kind: "member" }).expect(201)).body.id;
}

function signIn(userId: string, ip: string, owner = tenantId): Promise<{ token: string; session: Session }> {
  return t.container.sessions.startSession({
    user: { id: userId, tenantId: owner, email: "someone@example.test", name: "Someone" },
    tenant: { slug: "any", region: "us", sessionIdleMinutes: 30, sessionAbsoluteHours: 12 },
    method: "password", assurance: "aal2", amr: ["pwd", "otp", "mfa"], ip, userAgent: "Mozilla/5.0 (test)",
  });
}

async function keyWith(scopes: string[], tenant?: string): Promise<string> {
  return (await t.api().post("/api/v1/api-keys").send({ name: "k", scopes, ...(tenant ? { tenant } : {}) }).expect(201)).body.key;
}

async function revokedEvents(userId: string) {
  const res = await t.api().get(`/api/v1/tenants/${slug}/audit-events`).query({ type: "session.revoked" });
  return res.body.items.filter((e: { target: { id: string } | null }) => e.target?.id === userId);
}

describe("admin API: a user's sessions", () => {
  it("lists the live sessions with their facts, and never a token", async () => {
    const userId = await createUser("list@sessions.example");
    const first = await signIn(userId, "203.0.113.7");
    const second = await signIn(userId, "2001:db8::5");

    const res = await t.api().get(sessionsUrl(userId));
    expect(res.status).toBe(200);
    expect(res.body.nextCursor).toBeNull();
    expect(res.body.items.map((s: { id: string }) => s.id).sort()).toEqual([first.session.id, second.session.id].sort());
    expect(res.body.items.find((s: { id: string }) => s.id === first.session.id)).toEqual({
      id: first.session.id, method: "password", assurance: "aal2", amr: ["pwd", "otp", "mfa"], ip: "203.0.113.7", userAgent: "Mozilla/5.0 (test)",
      createdAt: expect.any(String), lastSeenAt: expect.any(String), authTime: expect.any(String),
      expiresAt: new Date(first.session.lastSeenAt + 30 * 60_000).toISOString(),
    });
    for (const token of [first.token, second.token]) expect(res.text).not.toContain(token);
  });

  it("ends one session of the user, leaving the others live", async () => {
    const userId = await createUser("one@sessions.example");
    const keep = await signIn(userId, "198.51.100.1");
    const end = await signIn(userId, "198.51.100.2");

    const res = await t.api().delete(`${sessionsUrl(userId)}/${end.session.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ revoked: 1 });
    expect(await t.container.sessions.validate(end.token)).toBeNull();
    expect(await t.container.sessions.validate(keep.token)).not.toBeNull();
    expect((await revokedEvents(userId))[0].data).toEqual({ by: "admin", count: 1, sessionId: end.session.id });

    const again = await t.api().delete(`${sessionsUrl(userId)}/${end.session.id}`);
    expect(again.status).toBe(404);
  });

  it("answers 404 for another user's session id, and that session stays live", async () => {
    const userId = await createUser("asker@sessions.example");
    const otherUser = await createUser("bystander@sessions.example");
    const theirs = await signIn(otherUser, "198.51.100.9");

    const res = await t.api().delete(`${sessionsUrl(userId)}/${theirs.session.id}`);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe("not_found");
    expect(await t.container.sessions.validate(theirs.token)).not.toBeNull();
    expect((await t.api().delete(`${sessionsUrl(userId)}/not a session`)).status).toBe(404);
  });

  it("ends all of the user's sessions and reports how many, audited", async () => {
    const userId = await createUser("all@sessions.example");
    const bystander = await createUser("other@sessions.example");
    const signedIn = await Promise.all([signIn(userId, "192.0.2.1"), signIn(userId, "192.0.2.2"), signIn(userId, "192.0.2.3")]);
    const untouched = await signIn(bystander, "192.0.2.4");

    const res = await t.api().delete(sessionsUrl(userId));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ revoked: 3 });
    expect(await t.container.sessions.listUserSessions(userId)).toEqual([]);
    for (const { token } of signedIn) expect(await t.container.sessions.validate(token)).toBeNull();
    expect(await t.container.sessions.validate(untouched.token)).not.toBeNull();
    expect((await t.api().get(sessionsUrl(userId))).body.items).toEqual([]);

    const events = await revokedEvents(userId);
    expect(events[0]).toMatchObject({ actor: { type: "api_key" }, data: { by: "admin", count: 3 } });
    expect((await t.api().delete(sessionsUrl(userId))).body).toEqual({ revoked: 0 });
  });

  it("needs users:read or tenants:read to list and users:write to end", async () => {
    const userId = await createUser("scopes@sessions.example");
    const live = await signIn(userId, "192.0.2.10");
    const reader = checkedAgent(t.app, await keyWith(["tenants:read"]));
    expect((await reader.get(sessionsUrl(userId))).status).toBe(200);
    for (const res of [await reader.delete(sessionsUrl(userId)), await reader.delete(`${sessionsUrl(userId)}/${live.session.id}`)]) {
      expect(res.status).toBe(403);
      expect(res.body.code).toBe("insufficient_scope");
    }
    expect((await checkedAgent(t.app, await keyWith(["audit:read"])).get(sessionsUrl(userId))).status).toBe(403);
    expect(await t.container.sessions.validate(live.token)).not.toBeNull();
  });

  it("gives a key bound to another tenant 404 for every route, and the victim stays signed in", async () => {
    const other = uniqueSlug("sessions-other");
    await t.api().post("/api/v1/tenants").send({ slug: other, name: "Other", region: "us" }).expect(201);
    const bound = checkedAgent(t.app, await keyWith(["users:write"], other));
    const victim = await createUser("victim@sessions.example");
    const live = await signIn(victim, "192.0.2.20");

    for (const tenant of [slug, other]) {
      for (const res of [
        await bound.get(sessionsUrl(victim, tenant)),
        await bound.delete(sessionsUrl(victim, tenant)),
        await bound.delete(`${sessionsUrl(victim, tenant)}/${live.session.id}`),
      ]) {
        expect(res.status).toBe(404);
        expect(res.body.code).toBe("not_found");
      }
    }
    expect(await t.container.sessions.validate(live.token)).not.toBeNull();
  });
});
