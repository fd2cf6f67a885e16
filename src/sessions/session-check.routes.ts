import { Router } from "express";
import { AppError } from "../platform/errors";
import { sendError } from "../platform/http/problem";
import type { Session } from "./session";
import type { Identity, SessionCheck } from "./session-check";

/** `GET /api/v1/session`: the browser's own session as JSON, authenticated by its cookie (not an API key). */
export function currentSessionRouter(check: SessionCheck): Router {
  const router = Router();

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
