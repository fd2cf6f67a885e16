import { createHmac, hkdfSync, randomBytes } from "node:crypto";
import type { SecretKey } from "../config/load";

// Crockford's base32: no i, l, o or u; 32 symbols, so a random byte masked to 5 bits is uniform.
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
const GROUP_LENGTH = 5;
const CODE_LENGTH = 2 * GROUP_LENGTH; // 10 symbols × 5 bits = 50 bits
const HASH_INFO = "gatehouse recovery code";

/** Codes shown once at enrolment, like `7k2mq-x9d4p`. */
export function generateRecoveryCodes(count = 10): string[] {
  const codes = new Set<string>();
  while (codes.size < count) codes.add(randomCode());
  return [...codes];
}

function randomCode(): string {
  const symbols = [...randomBytes(CODE_LENGTH)].map((byte) => ALPHABET[byte & 31]).join("");
  return `${symbols.slice(0, GROUP_LENGTH)}-${symbols.slice(GROUP_LENGTH)}`;
}

/** What the user typed, reduced to the bare symbols: case, dashes and spaces ignored; o, i and l read as 0 and 1. */
export function normaliseRecoveryCode(input: string): string {
  return input
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[\s\p{Pd}]/gu, "")
    .replace(/o/g, "0")
    .replace(/[il]/g, "1");
}

/** Keyed hash for storage: a database dump alone cannot be brute-forced offline. */
export function hashRecoveryCode(code: string, pepperKey: SecretKey): string {
  // Derived so the pepper key is never used raw for two purposes.
  const key = Buffer.from(hkdfSync("sha256", pepperKey.key, Buffer.alloc(0), HASH_INFO, 32));
  return createHmac("sha256", key).update(normaliseRecoveryCode(code), "utf8").digest("hex");
}
