import type { Request, Response } from "express";
import { AppError } from "../errors";
import { renderMessagePage } from "./page";

/** Browsers get a readable page; everything else (and all of /api) gets RFC 9457 problem+json. */
export function wantsHtml(req: Request): boolean {
  if (req.path.startsWith("/api/")) return false;
  const accept = req.get("accept") ?? "";
  return accept.includes("text/html");
}

export function problemBody(error: AppError, req: Request): Record<string, unknown> {
  return {
    type: `https://gatehouse.dev/problems/${error.code.replaceAll("_", "-")}`,
    title: error.title,
    status: error.status,
    code: error.code,
    detail: error.expose ? error.message : error.title,
    ...(error.errors ? { errors: error.errors } : {}),
    instance: req.originalUrl.split("?")[0],
    requestId: requestIdOf(req),
  };
}

function requestIdOf(req: Request): string | undefined {
  return (req.res?.locals as { requestId?: string } | undefined)?.requestId;
}

export function sendError(error: AppError, req: Request, res: Response): void {
  for (const [name, value] of Object.entries(error.headers ?? {})) res.setHeader(name, value);
  res.status(error.status);
  if (wantsHtml(req)) {
    res.type("html").send(renderMessagePage({ title: error.title, message: error.expose ? error.message : error.title }));
    return;
  }
  res.type("application/problem+json").send(JSON.stringify(problemBody(error, req)));
}
