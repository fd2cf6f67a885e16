import type { KvStore } from "../platform/kv/kv-store";
import type { Logger } from "../platform/logger";
import type { EndedSession } from "../sessions/session.store";
import { KvOidcAdapter } from "./kv-adapter";
import type { OidcProvider } from "./oidc-provider-api";
import type { SessionLinkStore } from "./session-link.store";

type Deps = {
  kv: KvStore;
  logger: Logger;
  links: SessionLinkStore;
  provider: () => Promise<OidcProvider>;
  /** Waits before each retry of a back-channel logout an app did not accept (default 1 s, then 5 s, then 30 s). */
  retryDelaysMs?: readonly number[];
};

const RETRY_DELAYS_MS = [1_000, 5_000, 30_000];

type LogoutNotice = { clientId: string; sub: string; sid: string };

type StoredSession = { jti?: unknown; accountId?: unknown; authorizations?: unknown };

/**
 * Ending a Gatehouse session (logout, admin revocation, password reset, rotation, deactivation, MFA reset)
 * ends what product apps hold through it: the bound provider sessions are destroyed and every grant made in
 * them is revoked (codes, access and refresh tokens) before the revocation returns; apps that registered a
 * back-channel logout URI are then told, in the background (a slow app must not hold up a logout).
 */
export function createLogoutPropagation(deps: Deps) {
  const { kv, logger, links } = deps;
  const sessionStore = new KvOidcAdapter(kv, "Session");
  const grantStore = new KvOidcAdapter(kv, "Grant");
  // The grant index is shared by every token model, so one adapter revokes them all.
  const tokenStore = new KvOidcAdapter(kv, "AccessToken");
  const deliveries = new Set<Promise<void>>();

  async function endProviderSession(uid: string, notices: LogoutNotice[]): Promise<void> {
    const stored = (await sessionStore.findByUid(uid)) as StoredSession | undefined;
    if (!stored) return;
    const sub = typeof stored.accountId === "string" ? stored.accountId : undefined;
    const authorizations = typeof stored.authorizations === "object" && stored.authorizations !== null ? stored.authorizations : {};
    for (const [clientId, authorization] of Object.entries(authorizations as Record<string, { sid?: unknown; grantId?: unknown }>)) {
      if (typeof authorization.grantId === "string") {
        await tokenStore.revokeByGrantId(authorization.grantId);
        await grantStore.destroy(authorization.grantId);
      }
      if (sub && typeof authorization.sid === "string") notices.push({ clientId, sub, sid: authorization.sid });
    }
    if (typeof stored.jti === "string") await sessionStore.destroy(stored.jti);
  }

  const retryDelaysMs = deps.retryDelaysMs ?? RETRY_DELAYS_MS;

  /**
   * One app's logout token, tried again after each delay while the app is down or answers an error: an app
   * that misses it keeps a signed-in user. Each attempt is a new token (its own jti). In memory only: a
   * restart of this instance drops the retries still waiting.
   */
  async function deliverOne(provider: OidcProvider, { clientId, sub, sid }: LogoutNotice): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        // Found again each time: an app deleted or changed meanwhile is not sent the old URI's token.
        const client = await provider.Client.find(clientId);
        if (client?.backchannelLogoutUri) await client.backchannelLogout(sub, sid);
        return;
      } catch (error) {
        const delay = retryDelaysMs[attempt];
        // The app's answer may echo anything; log only what failed, never the token.
        logger.warn({ clientId, attempt: attempt + 1, willRetry: delay !== undefined, err: error instanceof Error ? error.message : String(error) }, "back-channel logout not delivered");
        if (delay === undefined) return;
        await new Promise((resolve) => setTimeout(resolve, delay).unref());
      }
    }
  }

  async function deliver(notices: LogoutNotice[]): Promise<void> {
    const provider = await deps.provider();
    await Promise.all(notices.map((notice) => deliverOne(provider, notice)));
  }

  return {
    /** The session service's listener: never throws (the Gatehouse session is already gone either way). */
    async onSessionEnded(ended: EndedSession): Promise<void> {
      try {
        const uids = await links.providerSessionsOf(ended.id);
        if (uids.length === 0) return;
        const notices: LogoutNotice[] = [];
        for (const uid of uids) await endProviderSession(uid, notices);
        await links.unlink(ended.id, uids);
        if (notices.length === 0) return;
        const delivery = deliver(notices).finally(() => deliveries.delete(delivery));
        deliveries.add(delivery);
      } catch (error) {
        logger.error({ err: error, sessionId: ended.id }, "ending the product-app sessions of a Gatehouse session failed");
      }
    },

    /** Resolves when the back-channel logouts sent so far are done (tests, graceful shutdown). */
    async settled(): Promise<void> {
      while (deliveries.size > 0) await Promise.allSettled([...deliveries]);
    },
  };
}

export type LogoutPropagation = ReturnType<typeof createLogoutPropagation>;
