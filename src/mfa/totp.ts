import { generateSecret, verify as verifyOtp } from "otplib";
import type { Clock } from "../platform/clock";
import type { KvStore } from "../platform/kv/kv-store";

// The contract (ARCHITECTURE.md): what every authenticator app assumes by default.
const ALGORITHM = "sha1";
const DIGITS = 6;
const PERIOD_SECONDS = 30;
const TOLERANCE_STEPS = 1;
const SECRET_BYTES = 20;

// A step is acceptable for 2·tolerance+1 periods; one more covers clock skew between instances and Redis.
const LAST_STEP_TTL_MS = (2 * TOLERANCE_STEPS + 2) * PERIOD_SECONDS * 1000;
const CODE_FORMAT = /^[0-9]{6}$/;

export type TotpVerification = { ok: true; step: number } | { ok: false; reason: "invalid" | "replayed" };

export interface TotpVerifier {
  verify(userId: string, secret: string, code: string): Promise<TotpVerification>;
}

/** A new base32 secret of 160 bits (RFC 4226's recommended length for SHA-1). */
export async function generateTotpSecret(): Promise<string> {
  return generateSecret({ length: SECRET_BYTES });
}

/** The otpauth:// URI an authenticator app scans; every parameter explicit so apps need not guess. */
export function totpUri(input: { secret: string; accountName: string; issuer: string }): string {
  const label = `${encodeURIComponent(input.issuer)}:${encodeURIComponent(input.accountName)}`;
  const query = [
    `secret=${encodeURIComponent(input.secret)}`,
    `issuer=${encodeURIComponent(input.issuer)}`,
    `algorithm=${ALGORITHM.toUpperCase()}`,
    `digits=${DIGITS}`,
    `period=${PERIOD_SECONDS}`,
  ].join("&");
  return `otpauth://totp/${label}?${query}`;
}

/** Associated data for the sealed secret: a copy pasted onto another user's row fails to open. */
export function totpSecretContext(userId: string): string {
  return `totp:${userId}`;
}

export function createTotpVerifier(deps: { kv: KvStore; clock: Clock }): TotpVerifier {
  return {
    async verify(userId, secret, code) {
      if (!CODE_FORMAT.test(code)) return { ok: false, reason: "invalid" };
      const epoch = Math.floor(deps.clock.now().getTime() / 1000);
      const result = await verifyOtp({
        secret,
        token: code,
        algorithm: ALGORITHM,
        digits: DIGITS,
        period: PERIOD_SECONDS,
        epoch,
        epochTolerance: TOLERANCE_STEPS * PERIOD_SECONDS,
      });
      if (!result.valid) return { ok: false, reason: "invalid" };
      // otplib's shared result type omits timeStep; the matched step is the current one plus delta.
      const step = Math.floor(epoch / PERIOD_SECONDS) + result.delta;
      // otplib keeps no state: the last accepted step, raised atomically, makes each code single-use,
      // also against concurrent submissions and codes of earlier steps.
      const stored = await deps.kv.setIfGreater(`totp:last-step:${userId}`, step, LAST_STEP_TTL_MS);
      return stored ? { ok: true, step } : { ok: false, reason: "replayed" };
    },
  };
}
