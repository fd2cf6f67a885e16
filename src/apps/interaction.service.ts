import { loginHintOf } from "../local-login/login-hint";
import type { Clock } from "../platform/clock";
import type { Db } from "../platform/db/prisma";
import type { KvStore } from "../platform/kv/kv-store";
import type { Session } from "../sessions/session";
import { decideAccess } from "./access-policy";
import type { AccountRow, AccountStore } from "./account.store";
import type { ApplicationRow, ApplicationStore } from "./application.store";
import type { InteractionResult, OidcGrant, OidcInteraction, OidcProvider } from "./oidc-provider-api";
import { INTERACTION_PATH } from "./openid-provider";

/**
 * Whether the app asked for a second factor: `acr_values` naming `aal2` (NIST SP 800-63B's level with a
 * second factor; the values in discovery's `acr_values_supported`). A voluntary request, as OpenID
 * Connect makes it: the login is asked for again with a second factor, and `acr` tells the app what it got.
 */
export function asksForSecondFactor(params: Record<string, unknown>): boolean {
  const acrValues = params.acr_values;
  return typeof acrValues === "string" && acrValues.split(" ").includes("aal2");
}

/** What the interaction page does next. */
export type LoginStep =
  | { kind: "sign_in"; location: string }
  | { kind: "finish"; result: InteractionResult }
  | { kind: "refuse"; result: InteractionResult };

type Deps = { db: Db; kv: KvStore; clock: Clock; accounts: AccountStore; applications: ApplicationStore };

// As long as an interaction lives (oidc-provider's default: one hour).
const FIRST_SEEN_TTL_MS = 60 * 60 * 1000;

const SCOPE_TEXT: Record<string, string> = {
  openid: "Know who you are (your Gatehouse user id, organisation and region)",
  email: "See your email address",
  profile: "See your name",
  groups: "See the groups your organisation's sign-in service puts you in",
};

const refuse = (description: string): LoginStep => ({ kind: "refuse", result: { error: "access_denied", error_description: description } });

/**
 * The interaction step of the OpenID provider is Gatehouse's own login: with a live session the login is
 * finished from it (subject to the access rule), without one the browser goes through /login (SSO or the
 * regional local login, as the tenant's policy says) and comes back here.
 */
export function createInteractionService(deps: Deps) {
  const { db, accounts, applications } = deps;

  function signIn(uid: string, tenant: string | undefined, loginHint?: unknown): LoginStep {
    const hint = loginHintOf(loginHint);
    const query = new URLSearchParams({ ...(tenant ? { tenant } : {}), ...(hint ? { login_hint: hint } : {}), return_to: `${INTERACTION_PATH}/${uid}` });
    return { kind: "sign_in", location: `/login?${query.toString()}` };
  }

  /** prompt=login, an exceeded max_age or a login_hint naming someone else: the session is not good enough. */
  function wantsAnotherLogin(interaction: OidcInteraction, session: Session, account: AccountRow | null): boolean {
    if (interaction.prompt.reasons.includes("login_prompt")) return true;
    const maxAge = Number(interaction.params.max_age);
    if (interaction.params.max_age !== undefined && Number.isFinite(maxAge) && deps.clock.now().getTime() - session.authTime > maxAge * 1000) return true;
    const hint = interaction.params.login_hint;
    return typeof hint === "string" && hint.includes("@") && account !== null && hint.toLowerCase() !== account.email.toLowerCase();
  }

  /**
   * When this instance first decided on the interaction, in ms (recorded then). The provider's `iat` has whole
   * seconds only, too coarse to tell a session from just before the request from one made for it.
   */
  async function firstSeen(uid: string): Promise<number> {
    const key = `oidc-interaction-seen:${uid}`;
    const now = deps.clock.now().getTime();
    if (await deps.kv.set(key, String(now), { ttlMs: FIRST_SEEN_TTL_MS, onlyIfAbsent: true })) return now;
    return Number(await deps.kv.get(key)) || now;
  }

  /** Step-up: a session without a second factor from before the app asked for one signs in again, once. */
  async function needsStepUp(interaction: OidcInteraction, session: Session): Promise<boolean> {
    if (!asksForSecondFactor(interaction.params) || session.assurance === "aal2") return false;
    return session.authTime < (await firstSeen(interaction.uid));
  }

  const findApplication = (clientId: unknown): Promise<ApplicationRow | null> =>
    typeof clientId === "string" && clientId.length <= 64 ? applications.findByClientId(db, clientId) : Promise.resolve(null);

  return {
    findApplication,

    async decideLogin(interaction: OidcInteraction, session: Session | undefined, ip: string): Promise<LoginStep> {
      const app = await findApplication(interaction.params.client_id);
      if (!app) return refuse("unknown application");
      const appTenants = [...(await applications.tenantSlugs(db, app.tenantIds)).values()];
      const asked = typeof interaction.params.tenant === "string" ? interaction.params.tenant : undefined;
      if (asked && appTenants.length > 0 && !appTenants.includes(asked)) return refuse("this application is not available to that organisation");
      const tenant = asked ?? (appTenants.length === 1 ? appTenants[0] : undefined);
      if (!session) return signIn(interaction.uid, tenant, interaction.params.login_hint);

      const account = await accounts.find(db, session.userId);
      // Signed in after this interaction began: asking again would only loop.
      const fresh = session.authTime >= interaction.iat * 1000;
      if (tenant && account?.tenant.slug !== tenant) return fresh ? refuse("signed in to another organisation than the application asked for") : signIn(interaction.uid, tenant);
      if ((!fresh && wantsAnotherLogin(interaction, session, account)) || (await needsStepUp(interaction, session))) {
        return signIn(interaction.uid, tenant ?? account?.tenant.slug, interaction.params.login_hint);
      }

      const verdict = decideAccess({ session, account, appTenantIds: app.tenantIds, ip });
      if (!verdict.allowed) return refuse(verdict.message);
      return {
        kind: "finish",
        result: {
          login: { accountId: session.userId, acr: session.assurance, amr: session.amr, ts: Math.floor(session.authTime / 1000), remember: false },
          gatehouse: { sessionId: session.id },
        },
      };
    },

    /** What a third-party app asks for, in words, for the consent page. */
    describeConsent(interaction: OidcInteraction): string[] {
      const missing = interaction.prompt.details.missingOIDCScope;
      const scopes = Array.isArray(missing) ? missing.filter((s): s is string => typeof s === "string") : [];
      return scopes.map((scope) => SCOPE_TEXT[scope] ?? scope);
    },

    /** The user allowed what the consent page showed: the grant now covers the missing scopes and claims. */
    async grantConsent(provider: OidcProvider, interaction: OidcInteraction): Promise<InteractionResult> {
      const accountId = interaction.session?.accountId;
      const clientId = interaction.params.client_id;
      if (!accountId || typeof clientId !== "string") return { error: "access_denied", error_description: "no signed-in user" };
      const existing = interaction.grantId ? await provider.Grant.find(interaction.grantId) : undefined;
      const grant: OidcGrant = existing ?? new provider.Grant({ accountId, clientId });
      const { missingOIDCScope, missingOIDCClaims } = interaction.prompt.details;
      if (Array.isArray(missingOIDCScope)) grant.addOIDCScope(missingOIDCScope.join(" "));
      if (Array.isArray(missingOIDCClaims)) grant.addOIDCClaims(missingOIDCClaims as string[]);
      return { consent: { grantId: await grant.save() } };
    },
  };
}

export type InteractionService = ReturnType<typeof createInteractionService>;
