import type { AuditContext } from "../audit/audit-event";
import type { AuditStore } from "../audit/audit.store";
import type { SecretKey } from "../config/load";
import type { Clock } from "../platform/clock";
import { SecretBox } from "../platform/crypto";
import type { Db } from "../platform/db/prisma";
import type { KvStore } from "../platform/kv/kv-store";
import type { Logger } from "../platform/logger";
import type { SessionService } from "../sessions/session.service";
import { createAccountStore } from "./account.store";
import { createApplicationsVersion } from "./application-clients";
import { createApplicationService } from "./application.service";
import { createApplicationStore } from "./application.store";
import { createBackchannelSender } from "./backchannel-logout.sender";
import { createBackchannelLogoutStore } from "./backchannel-logout.store";
import { asksForSecondFactor, createInteractionService } from "./interaction.service";
import { createLogoutPropagation } from "./logout-propagation";
import { createOpenIdProvider, INTERACTION_PATH } from "./openid-provider";
import { createProviderKeyStore } from "./provider-key.store";
import { createProviderKeys, type KeySchedule } from "./provider-keys";
import { createSessionLinkStore } from "./session-link.store";

export type ProductAppsDeps = {
  db: Db;
  kv: KvStore;
  clock: Clock;
  logger: Logger;
  publicUrl: string;
  /** Cookies Secure (PUBLIC_URL is https): the one setting every cookie of ours follows. */
  secureCookies: boolean;
  secretKeys: readonly SecretKey[];
  sessions: SessionService;
  auditStore: AuditStore;
  keySchedule?: KeySchedule;
  backchannelRetryDelaysMs?: readonly number[];
};

/** The product-apps capability wired from its stores: registry, OpenID provider, keys, logout propagation. */
export function createProductApps(deps: ProductAppsDeps) {
  const { db, kv, clock, logger, auditStore } = deps;
  const applicationStore = createApplicationStore();
  const accounts = createAccountStore();
  const links = createSessionLinkStore(kv);
  const versions = createApplicationsVersion(kv);
  const keys = createProviderKeys({ db, store: createProviderKeyStore(), secretBox: new SecretBox(deps.secretKeys), clock, logger, auditStore, schedule: deps.keySchedule });
  const openIdProvider = createOpenIdProvider({
    db, kv, clock, logger, publicUrl: deps.publicUrl, secureCookies: deps.secureCookies, secretKeys: deps.secretKeys, applications: applicationStore, versions, accounts, keys, links,
    findSession: (id) => deps.sessions.findSession(id),
  });
  const backchannelStore = createBackchannelLogoutStore();
  const backchannelLogouts = createBackchannelSender({ db, clock, logger, store: backchannelStore, provider: () => openIdProvider.provider(), retryDelaysMs: deps.backchannelRetryDelaysMs });
  const logoutPropagation = createLogoutPropagation({ kv, logger, links, backchannel: backchannelLogouts });
  deps.sessions.onSessionEnded(logoutPropagation.onSessionEnded);

  /**
   * Whether the login that returns to `returnTo` serves an app that asked for a second factor (step-up): the
   * local login then does not let a user without one skip setting it up. Read from the provider's own
   * record of the interaction, not from anything the browser sends. When that record cannot be read, the
   * factor is asked for: the one place this rule fails towards more assurance.
   */
  async function secondFactorRequiredFor(returnTo: string): Promise<boolean> {
    const uid = returnTo.startsWith(`${INTERACTION_PATH}/`) ? returnTo.slice(INTERACTION_PATH.length + 1) : "";
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(uid)) return false;
    try {
      const interaction = await (await openIdProvider.provider()).Interaction.find(uid);
      return interaction !== undefined && asksForSecondFactor(interaction.params);
    } catch (error) {
      logger.warn({ err: error }, "could not read the app's request for a second factor; asking for it");
      return true;
    }
  }

  return {
    secondFactorRequiredFor,
    applications: createApplicationService({ db, clock, versions, store: applicationStore, auditStore, backchannel: backchannelStore }),
    openIdProvider,
    oidcInteractions: createInteractionService({ db, kv, clock, accounts, applications: applicationStore }),
    oidcLogout: logoutPropagation,
    /** Polls for back-channel logouts due again; started and stopped with the other background workers. */
    backchannelLogouts,
    oidcSigningKeys: {
      async rotate(context: AuditContext) {
        const key = await keys.rotate(context);
        // This instance publishes the new key at once; the others within the key schedule's refresh time.
        openIdProvider.reloadKeys();
        return key;
      },
      list: () => keys.list(),
    },
  };
}

export type ProductApps = ReturnType<typeof createProductApps>;
