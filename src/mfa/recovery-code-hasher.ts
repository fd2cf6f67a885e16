import type { SecretKey } from "../config/load";
import { hashRecoveryCode } from "./recovery-codes";

/**
 * Stored hashes name the key that made them (`<keyId>:<hex>`), so codes issued before a key
 * rotation keep working as long as the old key is still listed in SECRET_KEYS.
 */
export function createRecoveryCodeHasher(keys: readonly SecretKey[]) {
  const active = keys[0];
  if (!active) throw new Error("recovery code hasher needs a key");
  return {
    forStorage: (code: string): string => `${active.id}:${hashRecoveryCode(code, active)}`,
    candidates: (code: string): string[] => keys.map((key) => `${key.id}:${hashRecoveryCode(code, key)}`),
  };
}

export type RecoveryCodeHasher = ReturnType<typeof createRecoveryCodeHasher>;
