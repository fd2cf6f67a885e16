import { ManualClock } from "../../../src/platform/clock";
import { sha256Hex } from "../../../src/platform/crypto";
import type { KvStore } from "../../../src/platform/kv/kv-store";
import type { NewSession } from "../../../src/sessions/session";
import { createSessionStore, type SessionStore } from "../../../src/sessions/session.store";

export interface SessionStoreHarness {
  kv: KvStore;
  /** Drives the session store; the memory KV follows it too, Redis keeps real TTLs. */
  clock: ManualClock;
  /** Every key and value the backend holds for this test, as text, to search for secrets. */
  dump(): Promise<string>;
  cleanup(): Promise<void>;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function input(overrides: Partial<NewSession> = {}): NewSession {
  return {
    userId: "user-a",
    tenantId: "tenant-1",
    method: "password",
    assurance: "aal1",
    amr: ["pwd"],
    ip: "203.0.113.7",
    userAgent: "jest",
    idleTimeoutMs: 30 * MINUTE,
    absoluteTimeoutMs: 12 * HOUR,
    ...overrides,
  };
}

/** A KV whose next write to a key matching `pattern` first runs `meanwhile`: a deterministic race. */
function raceOnce(kv: KvStore, pattern: RegExp, meanwhile: () => Promise<unknown>): KvStore {
  let armed = true;
  return new Proxy(kv, {
    get(target, prop, receiver) {
      if (prop !== "set") return Reflect.get(target, prop, receiver);
      return async (key: string, ...rest: Parameters<KvStore["set"]> extends [string, ...infer R] ? R : never) => {
        if (armed && pattern.test(key)) {
          armed = false;
          await meanwhile();
        }
        return target.set(key, ...rest);
      };
    },
  });
}

export function describeSessionStoreContract(name: string, make: () => Promise<SessionStoreHarness>): void {
  describe(`session store: ${name}`, () => {
    let h: SessionStoreHarness;
    let store: SessionStore;
    let clock: ManualClock;

    beforeEach(async () => {
      h = await make();
      clock = h.clock;
      store = createSessionStore({ kv: h.kv, clock });
    });
    afterEach(() => h.cleanup());

    describe("tokens", () => {
      it("issues a 256-bit token and keeps only its SHA-256 in the store", async () => {
        const { token, session } = await store.create(input());
        expect(Buffer.from(token, "base64url")).toHaveLength(32);
        expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(session.id).not.toBe(token);
        expect(await h.kv.get(`session:${sha256Hex(token)}`)).not.toBeNull();
        const everything = await h.dump();
        expect(everything).toContain(sha256Hex(token));
        expect(everything).not.toContain(token);
      });

      it("finds a session by its token and by nothing else", async () => {
        const { token, session } = await store.create(input());
        expect(await store.findByToken(token)).toEqual(session);
        expect(await store.findByToken(sha256Hex(token))).toBeNull();
        expect(await store.findByToken(session.id)).toBeNull();
        expect(await store.findByToken("")).toBeNull();
        expect(await store.findByToken(`${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`)).toBeNull();
      });

      it("never hands out the same token or id twice", async () => {
        const created = await Promise.all(Array.from({ length: 20 }, () => store.create(input())));
        expect(new Set(created.map((c) => c.token)).size).toBe(20);
        expect(new Set(created.map((c) => c.session.id)).size).toBe(20);
      });

      it("refuses timeouts that are not positive or exceed the maximum lifetime", async () => {
        await expect(store.create(input({ idleTimeoutMs: 0 }))).rejects.toThrow(RangeError);
        await expect(store.create(input({ absoluteTimeoutMs: 31 * 24 * HOUR }))).rejects.toThrow(RangeError);
      });
    });

    describe("timeouts, enforced against the clock", () => {
      it("ends a session left idle, and removes it from the store and the listing", async () => {
        const { token, session } = await store.create(input());
        clock.advance(29 * MINUTE);
        expect(await store.findByToken(token)).not.toBeNull();
        clock.advance(1 * MINUTE);
        expect(await store.findByToken(token)).toBeNull();
        expect(await h.kv.get(`session:${sha256Hex(token)}`)).toBeNull();
        expect(await store.listForUser("user-a")).toEqual([]);
        expect(await store.findById(session.id)).toBeNull();
      });

      it("ends a session at its absolute deadline however active it is", async () => {
        const { token } = await store.create(input());
        for (let elapsed = 0; elapsed < 12 * HOUR - 20 * MINUTE; elapsed += 20 * MINUTE) {
          clock.advance(20 * MINUTE);
          expect(await store.touch(token)).not.toBeNull();
        }
        clock.advance(20 * MINUTE);
        expect(await store.touch(token)).toBeNull();
        expect(await store.findByToken(token)).toBeNull();
      });

      it("touch moves the idle deadline and the TTL forward", async () => {
        const { token } = await store.create(input());
        clock.advance(20 * MINUTE);
        const touched = await store.touch(token);
        expect(touched?.lastSeenAt).toBe(clock.now().getTime());
        const ttl = await h.kv.ttl(`session:${sha256Hex(token)}`);
        expect(ttl).toBeGreaterThan(25 * MINUTE);
        expect(ttl).toBeLessThanOrEqual(30 * MINUTE);
        clock.advance(20 * MINUTE);
        expect(await store.findByToken(token)).not.toBeNull();
      });

      it("touch writes at most once a minute", async () => {
        const { token, session } = await store.create(input());
        clock.advance(30_000);
        expect((await store.touch(token))?.lastSeenAt).toBe(session.lastSeenAt);
        clock.advance(31_000);
        expect((await store.touch(token))?.lastSeenAt).toBe(session.createdAt + 61_000);
      });

      it("touch never extends past the absolute deadline", async () => {
        const { token, session } = await store.create(input({ idleTimeoutMs: 30 * MINUTE, absoluteTimeoutMs: HOUR }));
        clock.advance(25 * MINUTE);
        await store.touch(token);
        clock.advance(25 * MINUTE);
        const late = await store.touch(token);
        expect(late?.absoluteExpiresAt).toBe(session.absoluteExpiresAt);
        const ttl = await h.kv.ttl(`session:${sha256Hex(token)}`);
        expect(ttl).toBeLessThanOrEqual(10 * MINUTE);
        expect(ttl).toBeGreaterThan(8 * MINUTE);
        clock.advance(10 * MINUTE);
        expect(await store.touch(token)).toBeNull();
      });
    });

    describe("rotation", () => {
      it("gives the same session a new token and kills the old one", async () => {
        const { token, session } = await store.create(input());
        const fresh = await store.rotate(token, { assurance: "aal2", amr: ["pwd", "otp", "mfa"] });
        expect(fresh).toEqual(expect.any(String));
        expect(fresh).not.toBe(token);
        expect(await store.findByToken(token)).toBeNull();
        expect(await h.kv.get(`session:${sha256Hex(token)}`)).toBeNull();
        const after = await store.findByToken(fresh!);
        expect(after).toMatchObject({ id: session.id, assurance: "aal2", amr: ["pwd", "otp", "mfa"] });
        expect(after?.absoluteExpiresAt).toBe(session.absoluteExpiresAt);
        expect((await store.listForUser("user-a")).map((s) => s.id)).toEqual([session.id]);
        expect(await store.revoke(session.id)).toBe(true);
        expect(await store.findByToken(fresh!)).toBeNull();
      });

      it("lifts a restriction only when told to", async () => {
        const { token } = await store.create(input({ restriction: "password_change" }));
        const kept = await store.rotate(token);
        expect((await store.findByToken(kept!))?.restriction).toBe("password_change");
        const lifted = await store.rotate(kept!, { restriction: null });
        expect((await store.findByToken(lifted!))?.restriction).toBeUndefined();
      });

      it("refuses an unknown, expired or already rotated token", async () => {
        const { token } = await store.create(input());
        expect(await store.rotate("x".repeat(43))).toBeNull();
        await store.rotate(token);
        expect(await store.rotate(token)).toBeNull();
        clock.advance(31 * MINUTE);
        const other = await store.create(input());
        clock.advance(31 * MINUTE);
        expect(await store.rotate(other.token)).toBeNull();
      });

      it("of two concurrent rotations, exactly one wins", async () => {
        const { token } = await store.create(input());
        const results = await Promise.all([store.rotate(token), store.rotate(token)]);
        const winners = results.filter((r): r is string => r !== null);
        expect(winners).toHaveLength(1);
        expect(await store.findByToken(winners[0]!)).not.toBeNull();
      });

      it("a revocation during a rotation wins: neither token works afterwards", async () => {
        const { token, session } = await store.create(input());
        const racing = createSessionStore({ kv: raceOnce(h.kv, /^session:/, () => store.revoke(session.id)), clock });
        expect(await racing.rotate(token)).toBeNull();
        expect(await store.findByToken(token)).toBeNull();
        expect(await store.listForUser("user-a")).toEqual([]);
      });
    });

    describe("listing and revocation", () => {
      async function population() {
        const a1 = await store.create(input());
        clock.advance(1_000);
        const a2 = await store.create(input({ ip: "198.51.100.1" }));
        const b = await store.create(input({ userId: "user-b" }));
        const c = await store.create(input({ userId: "user-c", tenantId: "tenant-2" }));
        return { a1, a2, b, c };
      }

      it("lists a user's and a tenant's live sessions, newest first", async () => {
        const { a1, a2, b, c } = await population();
        expect((await store.listForUser("user-a")).map((s) => s.id)).toEqual([a2.session.id, a1.session.id]);
        expect((await store.listForTenant("tenant-1")).map((s) => s.id).sort()).toEqual([a1, a2, b].map((x) => x.session.id).sort());
        expect((await store.listForTenant("tenant-2")).map((s) => s.id)).toEqual([c.session.id]);
        expect(await store.listForUser("nobody")).toEqual([]);
      });

      it("revokes one session by its public id", async () => {
        const { a1, a2 } = await population();
        expect(await store.revoke(a1.session.id)).toBe(true);
        expect(await store.revoke(a1.session.id)).toBe(false);
        expect(await store.findByToken(a1.token)).toBeNull();
        expect(await store.findByToken(a2.token)).not.toBeNull();
        expect((await store.listForTenant("tenant-1")).map((s) => s.id)).not.toContain(a1.session.id);
        expect(await store.revoke("no-such-id")).toBe(false);
      });

      it("revokes all of a user's sessions except the current one", async () => {
        const { a1, a2, b } = await population();
        const a3 = await store.create(input());
        expect(await store.revokeAllForUser("user-a", { except: a2.session.id })).toBe(2);
        expect(await store.findByToken(a1.token)).toBeNull();
        expect(await store.findByToken(a3.token)).toBeNull();
        expect(await store.findByToken(a2.token)).not.toBeNull();
        expect(await store.findByToken(b.token)).not.toBeNull();
        expect(await store.revokeAllForUser("user-a")).toBe(1);
        expect(await store.listForUser("user-a")).toEqual([]);
      });

      it("revokes all of a tenant's sessions and no other tenant's", async () => {
        const { a1, a2, b, c } = await population();
        expect(await store.revokeAllForTenant("tenant-1")).toBe(3);
        for (const gone of [a1, a2, b]) expect(await store.findByToken(gone.token)).toBeNull();
        expect(await store.findByToken(c.token)).not.toBeNull();
        expect(await store.listForUser("user-b")).toEqual([]);
        expect(await store.revokeAllForTenant("tenant-1")).toBe(0);
      });

      it("revokes every session of several users at once, and only theirs", async () => {
        const { a1, a2, b, c } = await population();
        await h.kv.setAdd("user-sessions:user-b", "dangling-id");
        expect(await store.revokeAllForUsers(["user-a", "user-b", "user-without-sessions"])).toBe(3);
        for (const gone of [a1, a2, b]) expect(await store.findByToken(gone.token)).toBeNull();
        expect(await store.findByToken(c.token)).not.toBeNull();
        expect(await h.kv.setMembers("user-sessions:user-a")).toEqual([]);
        expect(await h.kv.setMembers("user-sessions:user-b")).toEqual([]);
        expect((await store.listForTenant("tenant-1")).map((s) => s.id)).toEqual([]);
        expect(await store.revokeAllForUsers(["user-a", "user-b"])).toBe(0);
        expect(await store.revokeAllForUsers([])).toBe(0);
      });

      it("prunes index entries whose session is gone and does not count them as revoked", async () => {
        const { a1, a2 } = await population();
        await h.kv.del(`session:${sha256Hex(a1.token)}`); // evicted or expired in the KV
        await h.kv.setAdd("user-sessions:user-a", "dangling-id");
        expect((await store.listForUser("user-a")).map((s) => s.id)).toEqual([a2.session.id]);
        expect((await h.kv.setMembers("user-sessions:user-a")).sort()).toEqual([a2.session.id]);
        await h.kv.setAdd("user-sessions:user-a", "dangling-id");
        clock.advance(31 * MINUTE); // a2 is now idle-expired, though Redis may still hold it
        expect(await store.revokeAllForUser("user-a")).toBe(0);
        expect(await h.kv.setMembers("user-sessions:user-a")).toEqual([]);
      });

      it("a touch racing a revocation does not bring the session back", async () => {
        const { token, session } = await store.create(input());
        clock.advance(2 * MINUTE);
        const racing = createSessionStore({ kv: raceOnce(h.kv, /^session:/, () => store.revoke(session.id)), clock });
        expect(await racing.touch(token)).toBeNull();
        expect(await store.findByToken(token)).toBeNull();
        expect(await h.kv.get(`session:${sha256Hex(token)}`)).toBeNull();
      });
    });
  });
}
