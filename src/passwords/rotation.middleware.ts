import type { NextFunction, Request, Response } from "express";
import { AppError } from "../platform/errors";

// What a session restricted to a password change may still reach.
const OPEN = [/^\/[a-z][a-z0-9-]{1,15}\/password\/change$/, /^\/logout$/, /^\/assets\//];

/**
 * The one gate for forced rotation at next login: a restricted password session reaches only the
 * password-change page and logout; every other page and API answers password_rotation_required.
 * SSO sessions never carry the restriction (they use no local password).
 */
export function enforcePasswordRotation(req: Request, res: Response, next: NextFunction): void {
  const session = res.locals.session;
  if (!session || session.restriction !== "password_change" || session.method !== "password") return next();
  if (OPEN.some((pattern) => pattern.test(req.path))) return next();
  throw new AppError("password_rotation_required", "You must change your password before you can continue: open the password change page of your region.");
}
