import type { NextFunction, Request, Response } from "express";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ReadCacheStats } from "../kv/read-cache";

export type HttpMetrics = { registry: Registry; middleware: (req: Request, res: Response, next: NextFunction) => void };

/** sessionReadCache: the session checks' copies (KvStore.readCacheStats), undefined where none are kept. */
export function createHttpMetrics(options: { sessionReadCache?: () => ReadCacheStats | undefined } = {}): HttpMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  if (options.sessionReadCache) registerReadCacheMetrics(registry, options.sessionReadCache);
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

function registerReadCacheMetrics(registry: Registry, stats: () => ReadCacheStats | undefined): void {
  new Gauge({
    name: "gatehouse_session_read_cache_enabled",
    help: "1 while session checks may use this process's copies (Redis invalidations proved to arrive), else 0",
    registers: [registry],
    collect() {
      this.set(stats()?.enabled ? 1 : 0);
    },
  });
  new Gauge({
    name: "gatehouse_session_read_cache_entries",
    help: "Sessions copied in this process",
    registers: [registry],
    collect() {
      this.set(stats()?.entries ?? 0);
    },
  });
  // A counter fed from the cache's own totals at each scrape: only the growth since the last one is added.
  const counted = { hit: 0, miss: 0 };
  new Counter({
    name: "gatehouse_session_read_cache_lookups_total",
    help: "Session reads while copies were in use, by whether a copy answered",
    labelNames: ["result"] as const,
    registers: [registry],
    collect() {
      const now = stats();
      if (!now) return;
      for (const [result, total] of [["hit", now.hits], ["miss", now.misses]] as const) {
        if (total > counted[result]) this.inc({ result }, total - counted[result]);
        counted[result] = total;
      }
    },
  });
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
