import { hkdfSync } from "node:crypto";
import type { SecretKey } from "../config/load";

/** A separate 256-bit key per purpose, derived from the active secret key, so no key serves two roles. */
export function deriveKey(secret: SecretKey, purpose: string): Buffer {
  return Buffer.from(hkdfSync("sha256", secret.key, Buffer.alloc(0), `gatehouse ${purpose}`, 32));
}
