import type { NextFunction, Request, Response } from "express";
import { collectDefaultMetrics, Histogram, Registry } from "prom-client";

export type HttpMetrics = { registry: Registry; middleware: (req: Request, res: Response, next: NextFunction) => void };

export function createHttpMetrics(): HttpMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request duration by route template",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    const stop = duration.startTimer();
    res.on("finish", () => {
      // The route template, never the raw path: ids in paths would explode the label set.
      const route = res.locals.routeTemplate ?? (req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : "unmatched");
      stop({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };
  return { registry, middleware };
}

declare module "express-serve-static-core" {
  interface Locals {
    mountPath?: string;
    routeTemplate?: string;
  }
}

/** Mounted routers call this first: after an error Express forgets the mount path the label needs. */
export function rememberMountPath(req: Request, res: Response, next: NextFunction): void {
  res.locals.mountPath = req.baseUrl;
  next();
}

/** Called by the error handler, where req.route is still set but req.baseUrl is not. */
export function rememberRouteTemplate(req: Request, res: Response): void {
  if (req.route?.path) res.locals.routeTemplate = `${res.locals.mountPath ?? ""}${String(req.route.path)}`;
}
