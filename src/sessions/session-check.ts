import type { IncomingMessage, ServerResponse } from "node:http";
import type { BrowserCookies } from "../platform/http/browser-cookies";
import type { Session } from "./session";
import type { SessionService } from "./session.service";

export type Identity = { email: string; tenantSlug: string };

export type SessionCheckDeps = {
  sessions: SessionService;
  cookies: BrowserCookies;
  /** Only for sessions made before email and tenant slug were kept on the session. */
  identityOf: (session: Session) => Promise<Identity | null>;
};

export type Verdict = { ok: true; session: Session; identity: Identity } | { ok: false; reason: "none" | "restricted" | "unavailable" };

/**
 * The session behind the request's cookie, as the session checks (forward auth and GET /api/v1/session)
 * see it. Answers from the session store alone: no database read for sessions that carry their identity.
 * On Node's bare request and response: the forward-auth check does not go through Express.
 */
export function createSessionCheck(deps: SessionCheckDeps) {
  return async function check(req: IncomingMessage, res: ServerResponse): Promise<Verdict> {
    const token = deps.cookies.readSession(req);
    if (!token) return { ok: false, reason: "none" };
    let session: Session | null;
    try {
      session = await deps.sessions.validate(token);
    } catch {
      return { ok: false, reason: "unavailable" };
    }
    if (!session) {
      deps.cookies.clearSession(res);
      return { ok: false, reason: "none" };
    }
    // A session held back for a forced password change proves nothing to an app yet.
    if (session.restriction === "password_change" && session.method === "password") return { ok: false, reason: "restricted" };
    const identity = session.email !== undefined && session.tenantSlug !== undefined
      ? { email: session.email, tenantSlug: session.tenantSlug }
      : await deps.identityOf(session).catch(() => null);
    return identity ? { ok: true, session, identity } : { ok: false, reason: "none" };
  };
}

export type SessionCheck = ReturnType<typeof createSessionCheck>;
