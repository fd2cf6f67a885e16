import { createPrivateKey, generateKeyPair } from "node:crypto";
import { promisify } from "node:util";
import type { AuditContext } from "../audit/audit-event";
import type { AuditStore } from "../audit/audit.store";
import type { Clock } from "../platform/clock";
import { sha256Hex, type SecretBox } from "../platform/crypto";
import type { Db } from "../platform/db/prisma";
import type { Logger } from "../platform/logger";
import { OIDC_KEY_PURPOSE, type ProviderKeyRow, type ProviderKeyStore } from "./provider-key.store";

const generateRsa = promisify(generateKeyPair);
const MINUTE_MS = 60_000;

/**
 * When keys change hands. A new key is published at once but signs only after `activationDelayMs`, so every
 * instance (they re-read the keys every `refreshMs`) and every relying party that re-fetches the key set on
 * an unknown `kid` knows it before the first token it signs. A replaced key stays published for
 * `retentionMs` after it stopped signing: the longest life of what it signed (ID tokens, logout tokens).
 */
export type KeySchedule = { refreshMs: number; activationDelayMs: number; retentionMs: number };

export const ID_TOKEN_TTL_SECONDS = 60 * 60;

export const DEFAULT_KEY_SCHEDULE: KeySchedule = {
  refreshMs: 30_000,
  activationDelayMs: 2 * MINUTE_MS,
  // ID token lifetime, plus the 2-minute logout tokens and clock skew.
  retentionMs: ID_TOKEN_TTL_SECONDS * 1000 + 10 * MINUTE_MS,
};

export type Jwk = Record<string, unknown> & { kid: string };

/** The key set the provider is built with: the signing key first, the others for verification only. */
export type ProviderKeySet = { version: string; signingKeyId: string; jwks: { keys: Jwk[] } };

export type SigningKeyStatus = "next" | "signing" | "retired";

type Deps = { db: Db; store: ProviderKeyStore; secretBox: SecretBox; clock: Clock; logger: Logger; auditStore: AuditStore; schedule?: KeySchedule };

const sealContext = (publicKeyPem: string) => `signing-key:${OIDC_KEY_PURPOSE}:${sha256Hex(publicKeyPem)}`;

/** The OpenID provider's signing keys: made by the service, sealed in PostgreSQL, rotated through the admin API. */
export function createProviderKeys(deps: Deps) {
  const { db, store, secretBox, clock, logger } = deps;
  const schedule = deps.schedule ?? DEFAULT_KEY_SCHEDULE;
  const opened = new Map<string, Jwk>();

  const publishedSince = (now: number) => new Date(now - schedule.activationDelayMs - schedule.retentionMs);

  /** The newest key old enough to sign; the oldest one when none is (the very first key of a deployment). */
  function signingRow(rows: ProviderKeyRow[], now: number): ProviderKeyRow | undefined {
    return rows.find((row) => row.createdAt.getTime() <= now - schedule.activationDelayMs) ?? rows[rows.length - 1];
  }

  function jwkOf(row: ProviderKeyRow): Jwk | null {
    const cached = opened.get(row.id);
    if (cached) return cached;
    try {
      const pem = secretBox.open(row.privateKeySealed, sealContext(row.publicKeyPem));
      const jwk: Jwk = { ...(createPrivateKey(pem).export({ format: "jwk" }) as Record<string, unknown>), kid: row.id, alg: row.algorithm, use: "sig" };
      opened.set(row.id, jwk);
      return jwk;
    } catch {
      // Sealed under a secret this instance lacks: passed over rather than taking the provider down.
      logger.error({ signingKeyId: row.id, purpose: OIDC_KEY_PURPOSE }, "a signing key cannot be opened with SECRET_KEYS; was a key removed from SECRET_KEYS?");
      return null;
    }
  }

  async function usableRows(): Promise<ProviderKeyRow[]> {
    const rows = await store.publishable(db, publishedSince(clock.now().getTime()));
    return rows.filter((row) => jwkOf(row) !== null);
  }

  async function createKey(tx: Parameters<Parameters<ProviderKeyStore["withLock"]>[1]>[0]): Promise<ProviderKeyRow> {
    const { publicKey, privateKey } = await generateRsa("rsa", {
      modulusLength: 2048,
      publicKeyEncoding: { type: "spki", format: "pem" },
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
    });
    return store.create(tx, { algorithm: "RS256", publicKeyPem: publicKey, privateKeySealed: secretBox.seal(privateKey, sealContext(publicKey)), createdAt: clock.now() });
  }

  return {
    schedule,

    /** The key set as of now; the first call of a deployment makes its first key. */
    async current(): Promise<ProviderKeySet> {
      let rows = await usableRows();
      if (rows.length === 0) {
        await store.withLock(db, async (tx) => {
          if ((await store.publishable(tx, publishedSince(clock.now().getTime()))).some((row) => jwkOf(row) !== null)) return;
          await createKey(tx);
        });
        rows = await usableRows();
      }
      const signing = signingRow(rows, clock.now().getTime());
      if (!signing) throw new Error("no usable OpenID provider signing key");
      // Keys that do not sign carry key_ops ["verify"]: the provider never picks them for signing.
      const keys = [jwkOf(signing)!, ...rows.filter((row) => row !== signing).map((row) => ({ ...jwkOf(row)!, key_ops: ["verify"] }))];
      return { version: `${signing.id}|${rows.map((row) => row.id).join(",")}`, signingKeyId: signing.id, jwks: { keys } };
    },

    /** A new key, signing after the activation delay; the keys in use are retired (and stay published for a while). */
    async rotate(context: AuditContext) {
      const { row, retired } = await store.withLock(db, async (tx) => {
        const retiredIds = await store.retireActive(tx, clock.now());
        const created = await createKey(tx);
        await deps.auditStore.insert(tx, context, {
          type: "signing_key.rotated", target: { type: "signing_key", id: created.id }, data: { purpose: OIDC_KEY_PURPOSE, retired: retiredIds },
        });
        return { row: created, retired: retiredIds };
      });
      logger.info({ signingKeyId: row.id, retired }, "OpenID provider signing key rotated");
      const now = clock.now().getTime();
      return describe(row, signingRow(await usableRows(), now)?.id);
    },

    /** Every published key and its part in the rotation. */
    async list() {
      const rows = await usableRows();
      const signing = signingRow(rows, clock.now().getTime());
      return { items: rows.map((row) => describe(row, signing?.id)) };
    },
  };

  function describe(row: ProviderKeyRow, signingId: string | undefined) {
    const signsFrom = row.createdAt.getTime() + schedule.activationDelayMs;
    const status: SigningKeyStatus = row.id === signingId ? "signing" : row.retiredAt === null ? "next" : "retired";
    return {
      id: row.id,
      algorithm: row.algorithm,
      status,
      createdAt: row.createdAt.toISOString(),
      signsFrom: new Date(signsFrom).toISOString(),
      retiredAt: row.retiredAt?.toISOString() ?? null,
      publishedUntil: row.retiredAt ? new Date(row.retiredAt.getTime() + schedule.activationDelayMs + schedule.retentionMs).toISOString() : null,
    };
  }
}

export type ProviderKeys = ReturnType<typeof createProviderKeys>;
