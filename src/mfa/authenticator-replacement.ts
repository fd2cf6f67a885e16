import type { AuditContext } from "../audit/audit-event";
import type { Clock } from "../platform/clock";
import type { SessionService } from "../sessions/session.service";
import type { UserRow } from "../users/user.store";
import { checkFactorCode, type FactorUsed } from "./factor-code";
import { guardedFactorCheck, type FactorDeps } from "./guarded-factor-check";
import { accountLabel, securityNotice } from "./security-notice";
import { generateTotpSecret, totpSecretContext, totpUri } from "./totp";

/** How long a proven replacement stays open for the new app's first code. */
const OFFER_TTL_MS = 10 * 60 * 1000;
const offerKey = (sessionId: string) => `totp-replace:${sessionId}`;

type Deps = FactorDeps & { sessions: Pick<SessionService, "revokeUserSessions"> };

/** The signed-in user and the session asking; a replacement belongs to that one session. */
export type Requester = { sessionId: string; userId: string; tenantId: string; ip: string; requestId?: string };

/** Kept in the KV store per session: the new secret, sealed, and how the user proved the old factor. */
type Offer = { sealedSecret: string; proof: FactorUsed };

export type ProofResult =
  | { kind: "proved" }
  | { kind: "no_authenticator" }
  | { kind: "throttled"; retryAfterSeconds: number }
  | { kind: "wrong_code" };

export type ReplaceResult =
  | { kind: "replaced"; otherSessionsEnded: number }
  | { kind: "no_authenticator" }
  | { kind: "not_proved" }
  | { kind: "wrong_code"; reason: "invalid" | "replayed" };

/**
 * A user moves their second factor to a new authenticator app without an administrator, in two steps
 * bound to the session: first a code of the factor they hold (the old app, or one recovery code, which
 * is spent), then the first code of the new app. A stolen session alone gets past neither: the first code
 * is checked as at the login's code step (guarded-factor-check.ts). Once replaced,
 * every other session of the user ends, and the user is told by mail.
 */
export function createAuthenticatorReplacement(deps: Deps) {
  async function enrolledUser(requester: Requester): Promise<(UserRow & { totpSecret: string }) | null> {
    const user = await deps.userStore.findInTenant(deps.db, requester.tenantId, requester.userId);
    return user && user.status === "active" && user.totpSecret ? { ...user, totpSecret: user.totpSecret } : null;
  }

  async function readOffer(sessionId: string): Promise<Offer | null> {
    const raw = await deps.kv.get(offerKey(sessionId));
    return raw ? (JSON.parse(raw) as Offer) : null;
  }

  const contextOf = (requester: Requester): AuditContext => ({ actor: { type: "user", id: requester.userId }, ip: requester.ip, requestId: requester.requestId });

  return {
    /** Whether this session has proved the old factor; then the new app's setup (same secret on reload). */
    async pending(requester: Requester): Promise<{ enrolled: boolean; setup: { secret: string; uri: string } | null }> {
      const user = await enrolledUser(requester);
      if (!user) return { enrolled: false, setup: null };
      const offer = await readOffer(requester.sessionId);
      if (!offer) return { enrolled: true, setup: null };
      const secret = deps.secretBox.open(offer.sealedSecret, totpSecretContext(user.id));
      return { enrolled: true, setup: { secret, uri: totpUri({ secret, accountName: user.email, issuer: "Gatehouse" }) } };
    },

    /** Step one: a current code of the old app, or an unused recovery code (spent here). */
    async prove(requester: Requester, code: string): Promise<ProofResult> {
      const user = await enrolledUser(requester);
      if (!user) return { kind: "no_authenticator" };
      const checked = await guardedFactorCheck(deps, { ...requester, step: "replace_authenticator" }, () => checkFactorCode(deps, user, code.trim(), { recoveryCodes: true }));
      if (checked.kind !== "passed") return checked;
      const secret = await generateTotpSecret();
      const offer: Offer = { sealedSecret: deps.secretBox.seal(secret, totpSecretContext(user.id)), proof: checked.value };
      await deps.kv.set(offerKey(requester.sessionId), JSON.stringify(offer), { ttlMs: OFFER_TTL_MS });
      return { kind: "proved" };
    },

    /** Step two: the new app's first code. Its step is spent for the user, as any code at login. */
    async replace(requester: Requester, code: string): Promise<ReplaceResult> {
      const user = await enrolledUser(requester);
      if (!user) return { kind: "no_authenticator" };
      const offer = await readOffer(requester.sessionId);
      if (!offer) return { kind: "not_proved" };
      const secret = deps.secretBox.open(offer.sealedSecret, totpSecretContext(user.id));
      const verified = await deps.totp.verify(user.id, secret, code.replace(/\s/g, ""));
      if (!verified.ok) return { kind: "wrong_code", reason: verified.reason };
      // Taken once: of two confirmations racing with the same offer, one replaces.
      if ((await deps.kv.getDel(offerKey(requester.sessionId))) === null) return { kind: "not_proved" };
      const now = deps.clock.now();
      const tenant = await deps.tenantStore.findById(deps.db, user.tenantId);
      const context = contextOf(requester);
      await deps.db.$transaction(async (tx) => {
        await deps.userStore.setTotp(tx, user.id, offer.sealedSecret, now);
        await deps.auditStore.insert(tx, context, { type: "mfa.replaced", tenantId: user.tenantId, target: { type: "user", id: user.id }, data: { by: "user", factor: "totp", proof: offer.proof } });
        await deps.outbox.enqueue(tx, { ...replacedNotice(deps.clock, tenant?.name ?? "", user, requester.ip), kind: "mfa_replaced", tenantId: user.tenantId });
      });
      // A session opened with the old app may be someone else's: all but this one end once committed.
      const otherSessionsEnded = await deps.sessions.revokeUserSessions(user.id, { except: requester.sessionId });
      if (otherSessionsEnded > 0) {
        await deps.auditStore.insert(deps.db, context, { type: "session.revoked", tenantId: user.tenantId, target: { type: "user", id: user.id }, data: { by: "user", reason: "authenticator_replaced", count: otherSessionsEnded } });
      }
      return { kind: "replaced", otherSessionsEnded };
    },
  };
}

function replacedNotice(clock: Clock, tenantName: string, user: UserRow, ip: string) {
  return securityNotice({
    to: user.email, subject: "Your authenticator app was replaced", at: clock.now(), ip,
    what: `The authenticator app of your account ${accountLabel(user.email, tenantName)} was replaced. Codes from the earlier app no longer work.`,
    ifNotYou: "Your other sessions were ended. If this was not you, contact your administrator now.",
  });
}

export type AuthenticatorReplacement = ReturnType<typeof createAuthenticatorReplacement>;
