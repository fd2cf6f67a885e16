import type { KvStore } from "../platform/kv/kv-store";
import type { Logger } from "../platform/logger";
import type { EndedSession } from "../sessions/session.store";
import type { BackchannelSender } from "./backchannel-logout.sender";
import type { LogoutNotice } from "./backchannel-logout.store";
import { KvOidcAdapter } from "./kv-adapter";
import type { SessionLinkStore } from "./session-link.store";

type Deps = {
  kv: KvStore;
  logger: Logger;
  links: SessionLinkStore;
  backchannel: BackchannelSender;
};

type StoredSession = { jti?: unknown; accountId?: unknown; authorizations?: unknown };

/**
 * Ending a Gatehouse session (logout, admin revocation, password reset, rotation, deactivation, MFA reset)
 * ends what product apps hold through it: the bound provider sessions are destroyed and every grant made in
 * them is revoked (codes, access and refresh tokens) before the revocation returns; apps that registered a
 * back-channel logout URI are then told, in the background and durably (backchannel-logout.sender.ts).
 */
export function createLogoutPropagation(deps: Deps) {
  const { kv, logger, links } = deps;
  const sessionStore = new KvOidcAdapter(kv, "Session");
  const grantStore = new KvOidcAdapter(kv, "Grant");
  // The grant index is shared by every token model, so one adapter revokes them all.
  const tokenStore = new KvOidcAdapter(kv, "AccessToken");

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

  return {
    /** The session service's listener: never throws (the Gatehouse session is already gone either way). */
    async onSessionEnded(ended: EndedSession): Promise<void> {
      try {
        const uids = await links.providerSessionsOf(ended.id);
        if (uids.length === 0) return;
        const notices: LogoutNotice[] = [];
        for (const uid of uids) await endProviderSession(uid, notices);
        await links.unlink(ended.id, uids);
        deps.backchannel.send(notices);
      } catch (error) {
        logger.error({ err: error, sessionId: ended.id }, "ending the product-app sessions of a Gatehouse session failed");
      }
    },

    /** Resolves when the back-channel logouts sent so far are done (tests, graceful shutdown). */
    settled: () => deps.backchannel.settled(),
  };
}

export type LogoutPropagation = ReturnType<typeof createLogoutPropagation>;
