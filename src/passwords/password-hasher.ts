import { createHmac, hkdfSync } from "node:crypto";
import { getRounds } from "bcrypt";
import type { SecretKey } from "../config/load";
import { randomToken } from "../platform/crypto";
import { libuvBcrypt, type BcryptBackend } from "./bcrypt-pool";

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, stored: string): Promise<boolean>;
  needsRehash(stored: string): boolean;
  /** Spends the time of one verification for an unknown account; always false. */
  verifyDummy(password: string): Promise<false>;
}

export interface PasswordHasherOptions {
  cost: number;
  /** The first key pre-hashes new long passwords; every listed key can still verify. */
  pepperKeys: readonly SecretKey[];
  /** Where bcrypt runs; libuv's pool when absent. */
  backend?: BcryptBackend;
}

// bcrypt ignores everything after 72 bytes; longer input is pre-hashed so no byte is lost.
const BCRYPT_MAX_BYTES = 72;
const PREHASH_PREFIX = "hmac-";
const PREHASH_INFO = "gatehouse password prehash";

type ParsedHash = { keyId: string | null; bcryptHash: string };

/** `$2b$...` (plain) or `hmac-<keyId>$$2b$...` (pre-hashed with that key). */
function parseStored(stored: string): ParsedHash {
  if (!stored.startsWith(PREHASH_PREFIX)) return { keyId: null, bcryptHash: stored };
  const separator = stored.indexOf("$");
  // A malformed value gets an empty key id, which no configured key has: it never verifies.
  if (separator < 0) return { keyId: "", bcryptHash: "" };
  return { keyId: stored.slice(PREHASH_PREFIX.length, separator), bcryptHash: stored.slice(separator + 1) };
}

export function createPasswordHasher(options: PasswordHasherOptions): PasswordHasher {
  const { cost } = options;
  const bcrypt = options.backend ?? libuvBcrypt;
  if (!Number.isInteger(cost) || cost < 4 || cost > 31) throw new RangeError(`bcrypt cost must be an integer in 4..31, got ${cost}`);
  if (options.pepperKeys.length === 0) throw new Error("password hasher needs at least one pepper key");
  if (options.pepperKeys.some((k) => !/^[A-Za-z0-9_-]+$/.test(k.id))) throw new Error("pepper key ids must match [A-Za-z0-9_-]+");

  // A derived key, so the pepper is never used raw for two purposes (it may also be an AES key).
  const prehashKeys = new Map(options.pepperKeys.map((k) => [k.id, Buffer.from(hkdfSync("sha256", k.key, Buffer.alloc(0), PREHASH_INFO, 32))]));
  const currentKeyId = options.pepperKeys[0]!.id;

  // Base64 keeps the MAC free of NUL bytes and well under 72 bytes.
  const prehash = (normalised: string, keyId: string): string =>
    createHmac("sha256", prehashKeys.get(keyId)!).update(normalised, "utf8").digest("base64");

  let dummyHash: Promise<string> | undefined;
  const dummy = (): Promise<string> => (dummyHash ??= bcrypt.hash(randomToken(), cost));

  async function verifyDummy(password: string): Promise<false> {
    const normalised = password.normalize("NFKC");
    const candidate = Buffer.byteLength(normalised, "utf8") > BCRYPT_MAX_BYTES ? prehash(normalised, currentKeyId) : normalised;
    await bcrypt.compare(candidate, await dummy());
    return false;
  }

  return {
    async hash(password) {
      const normalised = password.normalize("NFKC");
      if (Buffer.byteLength(normalised, "utf8") <= BCRYPT_MAX_BYTES) return bcrypt.hash(normalised, cost);
      return `${PREHASH_PREFIX}${currentKeyId}$${await bcrypt.hash(prehash(normalised, currentKeyId), cost)}`;
    },

    async verify(password, stored) {
      const { keyId, bcryptHash } = parseStored(stored);
      const normalised = password.normalize("NFKC");
      if (keyId === null) {
        // A plain hash was made from ≤ 72 bytes: longer input would only match through bcrypt's truncation.
        if (Buffer.byteLength(normalised, "utf8") > BCRYPT_MAX_BYTES) return verifyDummy(password);
        return bcrypt.compare(normalised, bcryptHash);
      }
      // Key retired from the list: the hash can no longer be checked; fail closed in the usual time.
      if (!prehashKeys.has(keyId)) return verifyDummy(password);
      return bcrypt.compare(prehash(normalised, keyId), bcryptHash);
    },

    needsRehash(stored) {
      const { keyId, bcryptHash } = parseStored(stored);
      if (keyId !== null && keyId !== currentKeyId) return true;
      try {
        return getRounds(bcryptHash) !== cost;
      } catch {
        return true;
      }
    },

    verifyDummy,
  };
}
