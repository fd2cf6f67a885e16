import type { Clock } from "../platform/clock";
import { constantTimeEqual, randomToken, sha256Hex } from "../platform/crypto";
import type { KvStore, KvWrite } from "../platform/kv/kv-store";
import { isSessionExpired, sessionRemainingMs, type NewSession, type Session, type SessionElevation } from "./session";

/*
 * Key layout. Every KvStore call here touches one key, except setMembersMany (batch revocation), which
 * the KvStore splits per key on a cluster: no command spans two hash slots, so the layout runs on Redis
 * Cluster as is. Hash tags would not co-locate a user's
 * keys anyway, because a request looks its session up by token and does not know the user yet.
 */
const keys = {
  /** The session itself, under the SHA-256 of the cookie token: a leaked dump holds no usable token. */
  session: (tokenHash: string) => `session:${tokenHash}`,
  /** Public id -> current token hash, so a session can be revoked without its token. */
  pointer: (publicId: string) => `session-id:${publicId}`,
  user: (userId: string) => `user-sessions:${userId}`,
  tenant: (tenantId: string) => `tenant-sessions:${tenantId}`,
};

/** The pointer names the owners too, so a revocation can clean both indexes after the session itself expired. */
type Pointer = { tokenHash: string; userId: string; tenantId: string };

/** Left in a pointer's place by a revocation that found none, so a rotation in flight cannot commit. */
const REVOKED = "revoked";
const REVOKED_MARKER_TTL_MS = 60_000;
const DAY_MS = 24 * 60 * 60 * 1000;
// randomToken(): 32 bytes as base64url. Anything else is refused before hashing.
const TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}$/;
const BATCH = 200;

export interface SessionStoreDeps {
  kv: KvStore;
  clock: Clock;
  /** Refresh lastSeenAt at most this often (and at most a quarter of the idle timeout): no write per request. */
  touchIntervalMs?: number;
  /** Longest absolute lifetime accepted (the tenant maximum is 30 days). Index sets outlive it, so never a live member. */
  maxLifetimeMs?: number;
}

export type SessionStore = ReturnType<typeof createSessionStore>;

/** A session a revocation ended, with its owners. */
export type EndedSession = { id: string; userId: string; tenantId: string };
/** Told of each session a revocation ends (logout reaches the product apps); must not throw. */
export type SessionEndedListener = (ended: EndedSession) => Promise<void>;

export function createSessionStore(deps: SessionStoreDeps) {
  const { kv, clock } = deps;
  const touchIntervalMs = deps.touchIntervalMs ?? 60_000;
  const maxLifetimeMs = deps.maxLifetimeMs ?? 30 * DAY_MS;
  // A fixed TTL, reset on every create, only ever moves later: no read-modify-write race can shorten it.
  const indexTtlMs = maxLifetimeMs + DAY_MS;
  const now = (): number => clock.now().getTime();
  const endedListeners: SessionEndedListener[] = [];

  /** The owners' index entries, written in one batch with whatever comes with them. */
  const indexWrites = (session: Session): KvWrite[] =>
    [keys.user(session.userId), keys.tenant(session.tenantId)].flatMap((key): KvWrite[] => [
      { op: "setAdd", key, members: [session.id] },
      { op: "expire", key, ttlMs: indexTtlMs },
    ]);

  async function unindex(publicId: string, owners: { userId: string; tenantId: string }): Promise<void> {
    await kv.writeMany([
      { op: "setRemove", key: keys.user(owners.userId), members: [publicId] },
      { op: "setRemove", key: keys.tenant(owners.tenantId), members: [publicId] },
    ]);
  }

  async function readPointer(publicId: string): Promise<Pointer | null> {
    return parsePointer(await kv.get(keys.pointer(publicId)));
  }

  /**
   * The live session stored under a token hash; an expired one is removed on the way. `cached`: the read
   * may come from this process's copy, which any change to the session drops (KvStore.getCached).
   */
  async function load(tokenHash: string, options: { cached?: boolean } = {}): Promise<Session | null> {
    const key = keys.session(tokenHash);
    const session = parseSession(await (options.cached ? kv.getCached(key) : kv.get(key)));
    if (!session) return null;
    if (!isSessionExpired(session, now())) return session;
    await discard(session, tokenHash);
    return null;
  }

  // Enforced here, against the clock, rather than trusting the KV's TTL alone.
  async function discard(session: Session, tokenHash: string): Promise<void> {
    await kv.del(keys.session(tokenHash));
    const pointer = await readPointer(session.id);
    // A pointer to another hash means this key is a rotation's leftover; the session's bookkeeping is not ours.
    if (pointer && !constantTimeEqual(pointer.tokenHash, tokenHash)) return;
    if (pointer) await kv.del(keys.pointer(session.id));
    await unindex(session.id, session);
  }

  async function findById(publicId: string): Promise<Session | null> {
    const pointer = await readPointer(publicId);
    if (!pointer) return null;
    const session = await load(pointer.tokenHash);
    return session?.id === publicId ? session : null;
  }

  async function create(input: NewSession): Promise<{ token: string; session: Session }> {
    assertTimeouts(input, maxLifetimeMs);
    const at = now();
    const token = randomToken();
    const tokenHash = sha256Hex(token);
    const session: Session = {
      id: randomToken(16),
      userId: input.userId,
      tenantId: input.tenantId,
      method: input.method,
      assurance: input.assurance,
      authTime: input.authTime ?? at,
      createdAt: at,
      lastSeenAt: at,
      idleTimeoutMs: input.idleTimeoutMs,
      absoluteExpiresAt: at + input.absoluteTimeoutMs,
      ip: input.ip,
      userAgent: input.userAgent,
      amr: [...input.amr],
      ...(input.restriction ? { restriction: input.restriction } : {}),
      ...(input.sso ? { sso: { ...input.sso } } : {}),
      ...(input.email !== undefined ? { email: input.email } : {}),
      ...(input.tenantSlug !== undefined ? { tenantSlug: input.tenantSlug } : {}),
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.region !== undefined ? { region: input.region } : {}),
    };
    // Indexes and pointer before the session: a crash midway leaves a stale index entry (pruned later),
    // never a live session that cannot be listed or revoked.
    const pointer: Pointer = { tokenHash, userId: session.userId, tenantId: session.tenantId };
    await kv.writeMany([...indexWrites(session), { op: "set", key: keys.pointer(session.id), value: JSON.stringify(pointer), ttlMs: input.absoluteTimeoutMs }]);
    await kv.set(keys.session(tokenHash), JSON.stringify(session), { ttlMs: sessionRemainingMs(session, at) });
    return { token, session };
  }

  async function findByToken(token: string): Promise<Session | null> {
    if (!TOKEN_FORMAT.test(token)) return null;
    return load(sha256Hex(token));
  }

  /** Records activity: moves lastSeenAt and the TTL forward, never past the absolute deadline. */
  async function touch(token: string): Promise<Session | null> {
    if (!TOKEN_FORMAT.test(token)) return null;
    const tokenHash = sha256Hex(token);
    // The session checks' hot path: most requests are answered from the copy, without a round trip.
    const session = await load(tokenHash, { cached: true });
    if (!session) return null;
    const at = now();
    if (at - session.lastSeenAt < Math.min(touchIntervalMs, session.idleTimeoutMs / 4)) return session;
    const touched: Session = { ...session, lastSeenAt: at };
    await kv.set(keys.session(tokenHash), JSON.stringify(touched), { ttlMs: sessionRemainingMs(touched, at) });
    // A revocation between our read and write would be undone by the write: re-check and undo ours instead.
    const pointer = await readPointer(session.id);
    if (!pointer || !constantTimeEqual(pointer.tokenHash, tokenHash)) {
      await kv.del(keys.session(tokenHash));
      return null;
    }
    return touched;
  }

  /**
   * The same session under a new token; the old token stops working. Call it whenever privilege rises
   * (login completed, step-up, password changed), so a token planted before that is worthless after.
   */
  async function rotate(token: string, elevation: SessionElevation = {}): Promise<string | null> {
    if (!TOKEN_FORMAT.test(token)) return null;
    const oldHash = sha256Hex(token);
    const session = await load(oldHash);
    if (!session) return null;
    const pointerKey = keys.pointer(session.id);
    const at = now();
    const pointerTtlMs = session.absoluteExpiresAt - at;
    // Taking the pointer is the lock: of concurrent rotations and revocations exactly one gets it.
    const claimed = await kv.getDel(pointerKey);
    const current = parsePointer(claimed);
    if (!current || !constantTimeEqual(current.tokenHash, oldHash)) {
      await kv.del(keys.session(oldHash));
      if (claimed !== null) await restorePointer(pointerKey, claimed, pointerTtlMs);
      return null;
    }
    const rotated = elevate({ ...session, lastSeenAt: at }, elevation);
    const newToken = randomToken();
    const newHash = sha256Hex(newToken);
    await kv.set(keys.session(newHash), JSON.stringify(rotated), { ttlMs: sessionRemainingMs(rotated, at) });
    const next: Pointer = { ...current, tokenHash: newHash };
    // onlyIfAbsent: a revocation that ran meanwhile left its marker, and then the rotation must not commit.
    const committed = await kv.set(pointerKey, JSON.stringify(next), { ttlMs: pointerTtlMs, onlyIfAbsent: true });
    await kv.del(keys.session(oldHash));
    if (!committed) {
      await kv.del(keys.session(newHash));
      return null;
    }
    // A listing during the swap may have pruned the id as dangling; put it back.
    await kv.writeMany(indexWrites(rotated));
    return newToken;
  }

  // Puts back a pointer that rotate() took but did not own; if a revocation marker got there first,
  // the session it pointed at is revoked, so delete it.
  async function restorePointer(pointerKey: string, raw: string, ttlMs: number): Promise<void> {
    if (await kv.set(pointerKey, raw, { ttlMs, onlyIfAbsent: true })) return;
    const pointer = parsePointer(raw);
    if (pointer) await kv.del(keys.session(pointer.tokenHash));
  }

  /** Revokes one session by public id. True when a live session was ended. */
  async function revoke(publicId: string): Promise<boolean> {
    const pointerKey = keys.pointer(publicId);
    const pointer = parsePointer(await kv.getDel(pointerKey));
    if (!pointer) {
      // Nothing to revoke, or a rotation holds the pointer right now: the marker stops it from committing.
      await kv.set(pointerKey, REVOKED, { ttlMs: REVOKED_MARKER_TTL_MS, onlyIfAbsent: true });
      return false;
    }
    const session = parseSession(await kv.getDel(keys.session(pointer.tokenHash)));
    await unindex(publicId, pointer);
    // Every way a session is ended (logout, admin, reset, rotation, deactivation) comes through here.
    await Promise.allSettled(endedListeners.map((listener) => listener({ id: publicId, userId: pointer.userId, tenantId: pointer.tenantId })));
    return session !== null && !isSessionExpired(session, now());
  }

  async function list(indexKey: string): Promise<Session[]> {
    const ids = await kv.setMembers(indexKey);
    const found = await inBatches(ids, findById);
    const stale = ids.filter((_, i) => found[i] === null);
    if (stale.length > 0) await kv.setRemove(indexKey, ...stale);
    return found.filter((s): s is Session => s !== null).sort((a, b) => b.createdAt - a.createdAt);
  }

  /**
   * Ends every session of many users at once (a rotation campaign's batch): their index sets are read
   * in one round trip, then each session found is revoked as revoke() does. Returns how many live ones ended.
   */
  async function revokeAllForUsers(userIds: readonly string[]): Promise<number> {
    const indexKeys = userIds.map(keys.user);
    const members = await kv.setMembersMany(indexKeys);
    const ended = await inBatches(members.flat(), revoke);
    // As in revokeIndexed: entries whose pointer was already gone were not removed by revoke().
    const nonEmpty = indexKeys.map((key, i) => [key, members[i] ?? []] as const).filter(([, ids]) => ids.length > 0);
    await inBatches(nonEmpty, ([key, ids]) => kv.setRemove(key, ...ids));
    return ended.filter(Boolean).length;
  }

  async function revokeIndexed(indexKey: string, except?: string): Promise<number> {
    const ids = (await kv.setMembers(indexKey)).filter((id) => id !== except);
    const ended = await inBatches(ids, revoke);
    // Entries whose pointer was already gone were not removed by revoke(); drop them here.
    if (ids.length > 0) await kv.setRemove(indexKey, ...ids);
    return ended.filter(Boolean).length;
  }

  return {
    create,
    findByToken,
    findById,
    touch,
    rotate,
    revoke,
    listForUser: (userId: string) => list(keys.user(userId)),
    listForTenant: (tenantId: string) => list(keys.tenant(tenantId)),
    revokeAllForUser: (userId: string, options: { except?: string } = {}) => revokeIndexed(keys.user(userId), options.except),
    revokeAllForUsers,
    revokeAllForTenant: (tenantId: string) => revokeIndexed(keys.tenant(tenantId)),
    onSessionEnded: (listener: SessionEndedListener) => void endedListeners.push(listener),
  };
}

function elevate(session: Session, elevation: SessionElevation): Session {
  const { restriction, ...rest } = { ...session, ...definedOnly(elevation) };
  const next: Session = { ...rest, amr: [...rest.amr] };
  return restriction ? { ...next, restriction } : next;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function assertTimeouts(input: NewSession, maxLifetimeMs: number): void {
  for (const [name, ms] of [["idleTimeoutMs", input.idleTimeoutMs], ["absoluteTimeoutMs", input.absoluteTimeoutMs]] as const) {
    if (!Number.isSafeInteger(ms) || ms <= 0) throw new RangeError(`${name} must be a positive integer of ms, got ${ms}`);
  }
  if (input.absoluteTimeoutMs > maxLifetimeMs) throw new RangeError(`absoluteTimeoutMs exceeds the maximum of ${maxLifetimeMs} ms`);
}

// A value that does not parse is treated as absent: fail closed.
function parseJson(raw: string | null): Record<string, unknown> | null {
  if (raw === null) return null;
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function parsePointer(raw: string | null): Pointer | null {
  const value = parseJson(raw);
  const ok = value && typeof value.tokenHash === "string" && typeof value.userId === "string" && typeof value.tenantId === "string";
  return ok ? (value as Pointer) : null;
}

function parseSession(raw: string | null): Session | null {
  const value = parseJson(raw);
  const ok = value && typeof value.id === "string" && typeof value.lastSeenAt === "number" && typeof value.absoluteExpiresAt === "number";
  return ok ? (value as Session) : null;
}

async function inBatches<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += BATCH) results.push(...(await Promise.all(items.slice(i, i + BATCH).map(fn))));
  return results;
}
