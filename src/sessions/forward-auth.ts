import type { IncomingMessage, ServerResponse } from "node:http";
import { safeReturnTo } from "../platform/http/return-to";
import type { Logger } from "../platform/logger";
import type { SessionCheck } from "./session-check";

/** The one route this module answers, as openapi.yaml documents it (the contract test reads this). */
export const FORWARD_AUTH_OPERATION = "GET /authz";

/** Whether the request is `GET` or `HEAD /authz` (case and a trailing slash ignored, as Express routes do). */
function isForwardAuth(req: IncomingMessage): boolean {
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  const path = pathOf(req.url ?? "").toLowerCase();
  return path === "/authz" || path === "/authz/";
}

function pathOf(url: string): string {
  const query = url.indexOf("?");
  const target = query < 0 ? url : url.slice(0, query);
  // Absolute form ("http://host/authz"), as some proxies send it.
  if (!target.startsWith("/")) {
    try {
      return new URL(target).pathname;
    } catch {
      return "";
    }
  }
  return target;
}

function wantsRedirect(url: string): boolean {
  const query = url.indexOf("?");
  if (query < 0) return false;
  const redirect = new URLSearchParams(url.slice(query + 1)).get("redirect");
  return redirect === "1" || redirect === "true";
}

function answer(res: ServerResponse, status: number, headers: Record<string, string>): void {
  res.statusCode = status;
  res.setHeader("Cache-Control", "no-store");
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader("Content-Length", "0");
  res.end();
}

/**
 * `GET /authz`, the hot path for reverse proxies (forward auth: nginx `auth_request`, Traefik and Caddy
 * forward auth). It answers on Node's bare request and response, ahead of Express: a proxy asks on every
 * request it forwards and reads only the status and three headers, and Express's routing would cost more
 * than the check itself (bench `authz`; README, "Benchmarks").
 *
 * 200 with identity headers, otherwise 401 — also when the session store is down, and on any error: a
 * proxy must never read a 5xx as "let it through", and nothing is granted without a verified session (fail
 * closed). `?redirect=1` asks for a 303 to the login page instead, for proxies that pass the answer on.
 * Returns false for any other request, which goes on to the app.
 */
export function createForwardAuth(deps: { check: SessionCheck; logger: Logger }) {
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const verdict = await deps.check(req, res);
    if (verdict.ok) {
      answer(res, 200, { "X-Auth-User-Id": verdict.session.userId, "X-Auth-Email": verdict.identity.email, "X-Auth-Tenant": verdict.identity.tenantSlug });
      return;
    }
    const retry: Record<string, string> = verdict.reason === "unavailable" ? { "Retry-After": "5" } : {};
    if (wantsRedirect(req.url ?? "")) {
      const forwarded = req.headers["x-forwarded-uri"];
      const returnTo = safeReturnTo(Array.isArray(forwarded) ? forwarded[0] : forwarded, { fallback: "" });
      answer(res, 303, { ...retry, Location: returnTo ? `/login?return_to=${encodeURIComponent(returnTo)}` : "/login" });
      return;
    }
    answer(res, 401, retry);
  }

  return function forwardAuth(req: IncomingMessage, res: ServerResponse): boolean {
    if (!isForwardAuth(req)) return false;
    handle(req, res).catch((error: unknown) => {
      deps.logger.error({ err: error }, "forward auth failed; answered 401");
      if (!res.headersSent) {
        // Nothing set before the failure counts: no identity headers on a refusal.
        for (const name of res.getHeaderNames()) res.removeHeader(name);
        answer(res, 401, {});
      } else if (!res.writableEnded) res.end();
    });
    return true;
  };
}
