import type { Clock } from "../platform/clock";
import type { Db } from "../platform/db/prisma";
import type { RequestContext } from "../platform/http/request-context";
import { UUID_PATTERN } from "../platform/pagination";
import type { Session } from "../sessions/session";
import { decideAccess } from "./access-policy";
import type { AccountRow, AccountStore } from "./account.store";
import { tenantIdsOf } from "./application-clients";
import { asksForSecondFactor } from "./interaction.service";
import { interactionPolicy, type OidcAccount, type OidcContext, type OidcPolicy, type OidcTokenLike } from "./oidc-provider-api";
import type { SessionLinkStore } from "./session-link.store";

export type ProviderSessionDeps = {
  db: Db;
  clock: Clock;
  accounts: AccountStore;
  links: SessionLinkStore;
  /** The live Gatehouse session with this public id (not counted as activity). */
  findSession(publicId: string): Promise<Session | null>;
};

/** The ID token claims recorded on a session at sign-in; undefined for sessions made before all were kept. */
function claimsOf(session: Session): Record<string, unknown> | undefined {
  const { email, name, tenantSlug, region } = session;
  if (email === undefined || name === undefined || tenantSlug === undefined || region === undefined) return undefined;
  return { sub: session.userId, email, name, tenant: tenantSlug, region };
}

/** The Gatehouse session and request context Express put on the response before handing it to the provider. */
export function gatehouseSessionOf(ctx: OidcContext): Session | undefined {
  return ctx.res.locals?.session as Session | undefined;
}

function requestContextOf(ctx: OidcContext): RequestContext | undefined {
  return ctx.res.locals?.context as RequestContext | undefined;
}

/**
 * How the provider knows users and sessions: accounts from PostgreSQL (for a code's redemption, the sign-in
 * snapshot on the session), and every provider session bound to the Gatehouse session it was made from
 * (one session, not two).
 */
export function createProviderSessions(deps: ProviderSessionDeps) {
  const { db, accounts, links } = deps;
  // One account read per request, shared by the checks below.
  const accountOfRequest = new WeakMap<OidcContext, Promise<AccountRow | null>>();
  const accountOf = (ctx: OidcContext, userId: string) => {
    let found = accountOfRequest.get(ctx);
    if (!found) accountOfRequest.set(ctx, (found = accounts.find(db, userId)));
    return found;
  };

  /** Token requests and userinfo count only while the Gatehouse session the tokens came from is alive. */
  async function liveSessionOf(token: OidcTokenLike, sub: string): Promise<Session | null> {
    if (!token.sessionUid) return null;
    const sessionId = await links.gatehouseSessionOf(token.sessionUid);
    const session = sessionId ? await deps.findSession(sessionId) : null;
    return session !== null && session.userId === sub && session.restriction === undefined ? session : null;
  }

  async function findAccount(ctx: OidcContext, sub: string, token?: OidcTokenLike): Promise<OidcAccount | undefined> {
    if (!UUID_PATTERN.test(sub)) return undefined;
    const session = token ? await liveSessionOf(token, sub) : undefined;
    if (session === null) return undefined;
    // Redeeming a code: the account was read from PostgreSQL and found active by the authorization that
    // issued it, at most a code's lifetime (60 s) ago, so the claims of sign-in kept on the session do and
    // the token endpoint runs no query. Refresh tokens and userinfo, which live on, read the account again.
    // Groups exist only as the IdP named them at sign-in: always the session's.
    const groups = session?.sso?.groups ? { groups: session.sso.groups } : {};
    const snapshot = session && token?.kind === "AuthorizationCode" ? claimsOf(session) : undefined;
    if (snapshot) return { accountId: sub, claims: () => ({ ...snapshot, ...groups }) };
    const account = await accountOf(ctx, sub);
    if (!account || account.status !== "active") return undefined;
    const claims = { sub: account.id, email: account.email, name: account.name, tenant: account.tenant.slug, region: account.tenant.region, ...groups };
    return { accountId: account.id, claims: () => claims };
  }

  /** The provider session must belong to this browser's live Gatehouse session; binds it right after a login. */
  async function gatehouseSessionCheck(ctx: OidcContext): Promise<boolean> {
    const session = gatehouseSessionOf(ctx);
    const op = ctx.oidc.session;
    if (!session || !op?.accountId || op.accountId !== session.userId) return true;
    const tenant = ctx.oidc.params?.tenant;
    if (typeof tenant === "string" && (await accountOf(ctx, session.userId))?.tenant.slug !== tenant) return true;
    const result = ctx.oidc.result;
    if (result?.login && result.gatehouse?.sessionId === session.id) {
      await links.link(op.uid, session.id, session.absoluteExpiresAt - deps.clock.now().getTime());
      return false;
    }
    return (await links.gatehouseSessionOf(op.uid)) !== session.id;
  }

  /** The access rule, again at every authorization request: nothing decided at an earlier login is trusted. */
  async function gatehouseAccessCheck(ctx: OidcContext): Promise<boolean> {
    const session = gatehouseSessionOf(ctx);
    const client = ctx.oidc.client;
    if (!session || !client) return false;
    const account = await accountOf(ctx, session.userId);
    return !decideAccess({ session, account, appTenantIds: tenantIdsOf(client), ip: requestContextOf(ctx)?.ip ?? "" }).allowed;
  }

  /**
   * Step-up: the app asked for a second factor (`acr_values=aal2`) and this browser's session has none, so
   * the user signs in again. Not right after that sign-in: a voluntary request then gets what the user could
   * give, and `acr` says so (as oidc-provider's own max_age check does).
   */
  function stepUpCheck(ctx: OidcContext): boolean {
    const session = gatehouseSessionOf(ctx);
    if (!session || ctx.oidc.result?.login) return false;
    return asksForSecondFactor(ctx.oidc.params ?? {}) && session.assurance !== "aal2";
  }

  return {
    findAccount,

    /** oidc-provider's default prompts plus the Gatehouse checks on the login prompt. */
    interactionPolicy(): OidcPolicy {
      const { Check, base } = interactionPolicy;
      const policy = base();
      const login = policy.get("login")!;
      // Checks added after the prompt was built get no default error: name it.
      login.checks.add(new Check("gatehouse_session", "a live Gatehouse session is required", "login_required", gatehouseSessionCheck));
      login.checks.add(new Check("gatehouse_access", "this Gatehouse session may not sign in to this application", "access_denied", gatehouseAccessCheck));
      login.checks.add(new Check("gatehouse_step_up", "the application asked for a second factor", "login_required", stepUpCheck));
      return policy;
    },

    /** Provider sessions live as long as the Gatehouse session they are bound to may. */
    sessionTtlSeconds(ctx: OidcContext, stored: { exp?: number }): number {
      const session = gatehouseSessionOf(ctx);
      if (session) return Math.max(60, Math.floor((session.absoluteExpiresAt - deps.clock.now().getTime()) / 1000));
      if (typeof stored.exp === "number") return Math.max(1, stored.exp - Math.floor(Date.now() / 1000));
      return 3600;
    },
  };
}

export type ProviderSessions = ReturnType<typeof createProviderSessions>;
