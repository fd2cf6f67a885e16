import type { NextFunction, Request, Response } from "express";
import { AppError, isAppError } from "../errors";
import { isDependencyUnavailable } from "../dependency-errors";
import type { Logger } from "../logger";
import { rememberRouteTemplate } from "./metrics";
import { sendError } from "./problem";

type BodyParserError = Error & { type?: string; status?: number };

// body-parser reports its failures with a `type`; each becomes a stable code.
const BODY_PARSER_CODES: Record<string, () => AppError> = {
  "entity.parse.failed": () => new AppError("malformed_json", "The request body is not valid JSON"),
  "entity.too.large": () => new AppError("payload_too_large", "The request body is larger than allowed"),
  "encoding.unsupported": () => new AppError("unsupported_media_type", "Unsupported content encoding"),
  "charset.unsupported": () => new AppError("unsupported_media_type", "Unsupported charset"),
};

export function toAppError(error: unknown): AppError {
  if (isAppError(error)) return error;
  const type = (error as BodyParserError | undefined)?.type;
  const mapped = type ? BODY_PARSER_CODES[type] : undefined;
  if (mapped) return mapped();
  if (isDependencyUnavailable(error)) {
    // Fail closed and say so: the client may retry; nothing was granted.
    return new AppError("service_unavailable", "A backing service is unavailable; try again shortly", { cause: error, headers: { "Retry-After": "5" } });
  }
  return new AppError("internal_error", undefined, { cause: error });
}

export function errorHandler(logger: Logger) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const appError = toAppError(error);
    rememberRouteTemplate(req, res);
    if (appError.status >= 500) {
      logger.error({ err: appError.cause ?? appError, requestId: res.locals.requestId, path: req.path }, "request failed");
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    sendError(appError, req, res);
  };
}

export function notFoundHandler(req: Request, _res: Response, next: NextFunction): void {
  next(new AppError("not_found", `No route for ${req.method} ${req.path}`));
}

/** JSON APIs take JSON only: anything else with a body is refused before parsing. */
export function requireJsonBody(req: Request, _res: Response, next: NextFunction): void {
  const hasBody = Number(req.get("content-length") ?? 0) > 0 || req.get("transfer-encoding") !== undefined;
  if (hasBody && !req.is("application/json")) {
    next(new AppError("unsupported_media_type", "Send the request body as application/json"));
    return;
  }
  next();
}
