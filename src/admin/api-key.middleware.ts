import type { NextFunction, Request, Response } from "express";
import { AppError } from "../platform/errors";
import type { ApiCaller, ApiKeyService } from "./api-key.service";
import { hasScope, type ApiScope } from "./scopes";

declare module "express-serve-static-core" {
  interface Locals {
    caller: ApiCaller;
  }
}

/** `Authorization: Bearer <key>`; the caller becomes the actor of every audit event the request writes. */
export function apiKeyAuth(apiKeys: ApiKeyService) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const match = /^Bearer ([\x21-\x7e]+)$/.exec(req.get("authorization") ?? "");
    if (!match?.[1]) {
      throw new AppError("unauthenticated", "Send an API key as Authorization: Bearer <key>", { headers: { "WWW-Authenticate": 'Bearer realm="gatehouse"' } });
    }
    const caller = await apiKeys.authenticate(match[1]);
    res.locals.caller = caller;
    res.locals.context.actor = { type: "api_key", id: caller.keyId };
    next();
  };
}

export function requireScope(...anyOf: ApiScope[]) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    if (!anyOf.some((scope) => hasScope(res.locals.caller.scopes, scope))) {
      throw new AppError("insufficient_scope", `This API key needs the scope ${anyOf.join(" or ")}`);
    }
    next();
  };
}

export function callerOf(res: Response): ApiCaller {
  return res.locals.caller;
}
