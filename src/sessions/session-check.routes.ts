import { Router, type Request, type Response } from "express";
import { AppError } from "../platform/errors";
import type { BrowserCookies } from "../platform/http/browser-cookies";
import { sendError } from "../platform/http/problem";
import { safeReturnTo } from "../platform/http/return-to";
import type { Session } from "./session";
import type { SessionService } from "./session.service";

type Identity = { email: string; tenantSlug: string };
type Deps = {
  sessions: SessionService;
  cookies: BrowserCookies;
  /** Only for sessions made before email and tenant slug were kept on the session. */
  identityOf: (session: Session) => Promise<Identity | null>;
};

type Verdict = { ok: true; session: Session; identity: Identity } | { ok: false; reason: "none" | "restricted" | "unavailable" };

/**
 * The session behind the request's cookie, as the session check sees it. Answers from the session store
 * alone: no database read for sessions that carry their identity.
 */
function createCheck(deps: Deps) {
  return async function check(req: Request, res: Response): Promise<Verdict> {
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

/**
 * `GET /authz`, the hot path for reverse proxies (forward auth). Mounted first, before request ids,
 * metrics and page headers: a proxy asks on every request it forwards, and reads only the status and
 * three headers.
 */
export function forwardAuthRouter(deps: Deps): Router {
  const router = Router();
  const check = createCheck(deps);

  /**
   * 200 with identity headers, otherwise 401 — also when the session store is down: a proxy must never
   * read a 5xx as "let it through", and nothing is granted without a verified session (fail closed).
   * `?redirect=1` asks for a 303 to the login page instead, for proxies that pass the answer to the browser.
   */
  router.get("/authz", async (req, res) => {
    res.set("Cache-Control", "no-store");
    const verdict = await check(req, res);
    if (verdict.ok) {
      res.set({ "X-Auth-User-Id": verdict.session.userId, "X-Auth-Email": verdict.identity.email, "X-Auth-Tenant": verdict.identity.tenantSlug });
      res.status(200).end();
      return;
    }
    if (verdict.reason === "unavailable") res.set("Retry-After", "5");
    if (req.query.redirect === "1" || req.query.redirect === "true") {
      const returnTo = safeReturnTo(req.get("x-forwarded-uri"), { fallback: "" });
      res.redirect(303, returnTo ? `/login?return_to=${encodeURIComponent(returnTo)}` : "/login");
      return;
    }
    res.status(401).end();
  });

  return router;
}

/** `GET /api/v1/session`: the browser's own session as JSON, authenticated by its cookie (not an API key). */
export function currentSessionRouter(deps: Deps): Router {
  const router = Router();
  const check = createCheck(deps);

  router.get("/api/v1/session", async (req, res) => {
    res.set("Cache-Control", "no-store");
    const verdict = await check(req, res);
    if (!verdict.ok) {
      const error = verdict.reason === "restricted"
        ? new AppError("password_rotation_required", "Change your password before you continue.")
        : verdict.reason === "unavailable"
          ? new AppError("service_unavailable", "Sessions are temporarily unavailable", { headers: { "Retry-After": "5" } })
          : new AppError("unauthenticated", "No valid session");
      sendError(error, req, res);
      return;
    }
    res.json(viewOf(verdict.session, verdict.identity));
  });

  return router;
}

function viewOf(session: Session, identity: Identity) {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    id: session.id,
    user: { id: session.userId, email: identity.email },
    tenant: { id: session.tenantId, slug: identity.tenantSlug },
    method: session.method,
    assurance: session.assurance,
    amr: session.amr,
    groups: session.sso?.groups ?? [],
    authTime: iso(session.authTime),
    createdAt: iso(session.createdAt),
    idleExpiresAt: iso(Math.min(session.lastSeenAt + session.idleTimeoutMs, session.absoluteExpiresAt)),
    absoluteExpiresAt: iso(session.absoluteExpiresAt),
  };
}
