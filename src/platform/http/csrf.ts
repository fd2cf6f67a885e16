import { createHmac } from "node:crypto";
import type { Request } from "express";
import { constantTimeEqual } from "../crypto";
import { AppError } from "../errors";

/**
 * Synchronizer tokens without server state: the token is an HMAC of the browser-binding id, so
 * only a page served to this browser can carry it. POSTs also need a same-origin Origin header
 * when the browser sends one.
 */
export function createCsrf(options: { key: Buffer; allowedOrigins: readonly string[] }) {
  const origins = new Set(options.allowedOrigins.map((url) => new URL(url).origin));

  const tokenFor = (browserId: string): string =>
    createHmac("sha256", options.key).update(`csrf:${browserId}`).digest("base64url");

  return {
    tokenFor,
    /** Throws a 403 csrf_failed unless the form token matches this browser and the origin is ours. */
    verify(req: Request, browserId: string | undefined): void {
      const origin = req.get("origin");
      // "null" is what browsers send from no-referrer pages (the reset page) and sandboxed frames: it
      // proves nothing either way, so the browser-bound token below decides.
      if (origin !== undefined && origin !== "null" && !origins.has(origin)) throw new AppError("csrf_failed", "This form was posted from another site");
      const submitted = (req.body as Record<string, unknown> | undefined)?._csrf;
      if (!browserId || typeof submitted !== "string" || !constantTimeEqual(submitted, tokenFor(browserId))) {
        throw new AppError("csrf_failed", "This form has expired or was not sent by this browser. Reload the page and try again.");
      }
    },
  };
}

export type Csrf = ReturnType<typeof createCsrf>;
