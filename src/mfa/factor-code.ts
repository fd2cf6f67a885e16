import type { Clock } from "../platform/clock";
import type { SecretBox } from "../platform/crypto";
import type { Db } from "../platform/db/prisma";
import type { RecoveryCodeHasher } from "./recovery-code-hasher";
import type { RecoveryCodeStore } from "./recovery-code.store";
import { totpSecretContext, type TotpVerifier } from "./totp";

export type FactorCodeDeps = { db: Db; clock: Clock; secretBox: SecretBox; totp: TotpVerifier; recoveryCodeStore: RecoveryCodeStore; recoveryHasher: RecoveryCodeHasher };

export type FactorUsed = "totp" | "recovery_code";

/**
 * What a user typed at a second-factor prompt, for the login's code step and the account page alike: six
 * digits are a TOTP code of the user's app (each 30-second step once per user), anything else an unused
 * recovery code, spent here, where `recoveryCodes` allows one. Null for a wrong code or no app.
 */
export async function checkFactorCode(deps: FactorCodeDeps, user: { id: string; totpSecret: string | null }, code: string, options: { recoveryCodes: boolean }): Promise<FactorUsed | null> {
  if (!user.totpSecret) return null;
  const digits = code.replace(/\s/g, "");
  if (/^\d{6}$/.test(digits)) {
    const secret = deps.secretBox.open(user.totpSecret, totpSecretContext(user.id));
    return (await deps.totp.verify(user.id, secret, digits)).ok ? "totp" : null;
  }
  if (!options.recoveryCodes || !code.trim()) return null;
  return (await deps.recoveryCodeStore.consume(deps.db, user.id, deps.recoveryHasher.candidates(code), deps.clock.now())) ? "recovery_code" : null;
}
