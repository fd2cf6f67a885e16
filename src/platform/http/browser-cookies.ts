import type { IncomingMessage, ServerResponse } from "node:http";
import type { Request, Response } from "express";
import { randomToken } from "../crypto";
import { clearCookie, cookieNames, readCookie, setCookie } from "./cookies";

const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const BROWSER_ID_MAX_AGE_MS = 400 * 24 * 60 * 60 * 1000;
const PENDING_MAX_AGE_MS = 5 * 60 * 1000;

/** The three cookies of the browser flows, each read only when it has the shape of our tokens. */
export function createBrowserCookies(options: { secure: boolean }) {
  const names = cookieNames(options.secure);
  const { secure } = options;
  const read = (req: Pick<IncomingMessage, "headers">, name: string) => {
    const value = readCookie(req, name);
    return value && TOKEN.test(value) ? value : undefined;
  };

  return {
    /** Whether our cookies are Secure with the __Host- prefix (PUBLIC_URL is https): other cookies follow the same rule. */
    secure,
    readBrowserId: (req: Request) => read(req, names.browser),
    /** The browser-binding id that CSRF tokens and pending logins hang on; created on first sight. */
    ensureBrowserId(req: Request, res: Response): string {
      const existing = read(req, names.browser) ?? (res.locals.newBrowserId as string | undefined);
      if (existing) return existing;
      const id = randomToken();
      res.locals.newBrowserId = id;
      setCookie(res, names.browser, id, { secure, maxAgeMs: BROWSER_ID_MAX_AGE_MS });
      return id;
    },
    readPending: (req: Request) => read(req, names.pending),
    setPending: (res: Response, token: string) => setCookie(res, names.pending, token, { secure, maxAgeMs: PENDING_MAX_AGE_MS }),
    clearPending: (res: ServerResponse) => clearCookie(res, names.pending, secure),
    readSession: (req: Pick<IncomingMessage, "headers">) => read(req, names.session),
    /** A browser-session cookie: the server-side idle and absolute timeouts decide how long it counts. */
    setSession: (res: Response, token: string) => setCookie(res, names.session, token, { secure }),
    clearSession: (res: ServerResponse) => clearCookie(res, names.session, secure),
  };
}

export type BrowserCookies = ReturnType<typeof createBrowserCookies>;
