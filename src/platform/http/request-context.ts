import { randomUUID } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import type { Logger } from "../logger";
import { clientIp } from "./client-ip";

export type Actor =
  | { type: "api_key"; id: string }
  | { type: "user"; id: string }
  | { type: "system"; id?: string }
  | { type: "anonymous"; id?: undefined };

/** What services need to know about the caller, free of express types. */
export type RequestContext = { requestId: string; ip: string; userAgent?: string; actor: Actor };

declare module "express-serve-static-core" {
  interface Locals {
    requestId: string;
    context: RequestContext;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;

export function requestContext(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    // An upstream id is kept only when it looks like one, so logs cannot be injected through it.
    const incoming = req.get("x-request-id");
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = requestId;
    res.locals.context = { requestId, ip: clientIp(req), userAgent: req.get("user-agent")?.slice(0, 512), actor: { type: "anonymous" } };
    res.setHeader("X-Request-Id", requestId);
    const started = process.hrtime.bigint();
    res.on("finish", () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.info({ requestId, method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10, ip: res.locals.context.ip }, "request");
    });
    next();
  };
}

export function contextOf(res: Response): RequestContext {
  return res.locals.context;
}
