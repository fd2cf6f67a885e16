import type { IncomingMessage, ServerResponse } from "node:http";
import type { CookieOptions, Response } from "express";

/**
 * The one place for cookie rules (ARCHITECTURE.md, "Cookies"). `secure` is true when PUBLIC_URL is
 * https (config `secureCookies`).
 */
export type CookieNames = {
  /** The session token. */
  session: string;
  /** A long-lived random id for the browser (device recognition, per-browser throttling). */
  browser: string;
  /** The short-lived handle of a login between the password step and the MFA step. */
  pending: string;
};

// __Host- makes the browser refuse the cookie unless it is Secure, Path=/ and has no Domain, so a
// sibling subdomain or a plain-http response cannot plant or overwrite it (cookie tossing, fixation).
const HOST_PREFIX = "__Host-";

export function cookieNames(secure: boolean): CookieNames {
  const prefix = secure ? HOST_PREFIX : "";
  return { session: `${prefix}gh_session`, browser: `${prefix}gh_browser`, pending: `${prefix}gh_pending` };
}

/** Without `maxAgeMs` the cookie lasts as long as the browser session. */
export function cookieOptions(secure: boolean, maxAgeMs?: number): CookieOptions {
  return {
    // Tokens are for the server only; page scripts never need them (XSS cannot read them).
    httpOnly: true,
    // Lax: sent on top-level navigations (links from product apps and IdP redirects back to us) but not
    // on cross-site subrequests or cross-site POSTs; CSRF tokens still guard every form.
    sameSite: "lax",
    path: "/",
    secure,
    ...(maxAgeMs === undefined ? {} : { maxAge: maxAgeMs }),
  };
}

export function setCookie(res: Response, name: string, value: string, options: { secure: boolean; maxAgeMs?: number }): void {
  res.cookie(name, value, cookieOptions(options.secure, options.maxAgeMs));
}

/**
 * Browsers delete a cookie only when path and flags match the ones it was set with. Written by hand, not
 * with Express's clearCookie: the forward-auth check answers on Node's bare response.
 */
export function clearCookie(res: ServerResponse, name: string, secure: boolean): void {
  res.appendHeader("Set-Cookie", `${name}=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly;${secure ? " Secure;" : ""} SameSite=Lax`);
}

/** The first value of a cookie in the request, or undefined. No cookie-parser: this is all we need. */
export function readCookie(req: Pick<IncomingMessage, "headers">, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const pair of header.split(";")) {
    const eq = pair.indexOf("=");
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    const raw = pair.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1");
    try {
      return decodeURIComponent(raw);
    } catch {
      return undefined;
    }
  }
  return undefined;
}
