import { randomToken, sha256Hex } from "../platform/crypto";
import type { KvStore } from "../platform/kv/kv-store";
import type { SessionSso } from "../sessions/session";

/** What a correct password earns: the right to attempt the second factor, for five minutes, in one browser. */
export type PendingLogin = {
  userId: string;
  tenantId: string;
  region: string;
  browserId: string;
  returnTo: string;
  stage: "mfa" | "enroll";
  /** TOTP secret offered during enrolment, sealed; saved on the user only once a code confirms it. */
  enrollSecret?: string;
  createdAt: number;
  /**
   * Set when an SSO login waits for the local TOTP (the tenant's `requireLocalMfaForSso`): the IdP's
   * part is done, and the session will be an SSO session carrying it.
   */
  sso?: { method: "saml" | "oidc"; amr: string[]; session: SessionSso };
  /** The app this login returns to asked for a second factor: setting one up cannot be skipped. */
  stepUp?: boolean;
};

export const PENDING_LOGIN_TTL_MS = 5 * 60 * 1000;
const key = (token: string) => `pending-login:${sha256Hex(token)}`;
const failuresKey = (token: string) => `pending-login-failures:${sha256Hex(token)}`;

export function createPendingLoginStore(deps: { kv: KvStore }) {
  const { kv } = deps;
  return {
    async create(pending: PendingLogin): Promise<string> {
      const token = randomToken();
      await kv.set(key(token), JSON.stringify(pending), { ttlMs: PENDING_LOGIN_TTL_MS });
      return token;
    },
    async get(token: string): Promise<PendingLogin | null> {
      const raw = await kv.get(key(token));
      return raw ? (JSON.parse(raw) as PendingLogin) : null;
    },
    /** Keeps the original expiry: adding state never extends the five minutes. */
    async update(token: string, pending: PendingLogin): Promise<void> {
      const remaining = await kv.ttl(key(token));
      if (remaining === null || remaining <= 0) return;
      await kv.set(key(token), JSON.stringify(pending), { ttlMs: remaining });
    },
    /** Single use: of two concurrent completions, only one gets the record. */
    async consume(token: string): Promise<PendingLogin | null> {
      const raw = await kv.getDel(key(token));
      return raw ? (JSON.parse(raw) as PendingLogin) : null;
    },
    /** Counts a code attempt before it is checked, so parallel guesses cannot exceed the cap. */
    async countAttempt(token: string): Promise<number> {
      return kv.incr(failuresKey(token), PENDING_LOGIN_TTL_MS);
    },
    /** The attempt counter stays until it expires: attempts still in flight keep counting against it. */
    async discard(token: string): Promise<void> {
      await kv.del(key(token));
    },
  };
}

export type PendingLoginStore = ReturnType<typeof createPendingLoginStore>;
