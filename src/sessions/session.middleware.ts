import type { NextFunction, Request, Response } from "express";
import type { BrowserCookies } from "../platform/http/browser-cookies";
import { AppError } from "../platform/errors";
import type { Session } from "./session";
import type { SessionService } from "./session.service";

declare module "express-serve-static-core" {
  interface Locals {
    session?: Session;
    sessionToken?: string;
  }
}

/**
 * Reads the session cookie. If the session store cannot answer, the request fails with 503:
 * nothing is ever treated as authenticated without a verified session (fail closed).
 */
export function loadSession(deps: { sessions: SessionService; cookies: BrowserCookies }) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const token = deps.cookies.readSession(req);
    if (!token) return next();
    let session: Session | null;
    try {
      session = await deps.sessions.validate(token);
    } catch (error) {
      throw new AppError("service_unavailable", "Sessions are temporarily unavailable", { cause: error, headers: { "Retry-After": "5" } });
    }
    if (session) {
      res.locals.session = session;
      res.locals.sessionToken = token;
      res.locals.context.actor = { type: "user", id: session.userId };
    } else {
      deps.cookies.clearSession(res);
    }
    next();
  };
}

/** Browser pages: without a session, go to the SSO-first entry and come back here afterwards. */
export function requireBrowserSession(req: Request, res: Response, next: NextFunction): void {
  if (res.locals.session) return next();
  res.redirect(303, `/login?return_to=${encodeURIComponent(req.originalUrl)}`);
}
