import type { Router } from "express";
import type { Redis } from "ioredis";
import type { Pool } from "pg";
import type { GatehouseSettings } from "./gatehouse";
import type { ScenarioResult } from "./report";

/** What a connection sends instead of the target's defaults: its own cookie, its own form. */
export type RequestVariant = { headers?: Record<string, string>; body?: string };

/** One HTTP request that autocannon repeats; `path` is relative to the server it is fired at. */
export type Target = {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Connection i sends variant i (modulo their number), merged over `headers` and replacing `body`. */
  perConnection?: RequestVariant[];
  /** The only status a response may have; any 2xx when absent. */
  expectStatus?: number;
  /** Per-request timeout of the load generator, in seconds (default 10). */
  timeoutSeconds?: number;
  /** Checked once per variant before the load: a scenario that measures errors measures nothing. */
  check(status: number, body: string, headers: Headers): string | undefined;
};

/** A bound a request-load scenario should stay within; reported, never fatal. */
export type Goal = {
  /** Gatehouse req/s divided by baseline req/s must be at least this. */
  minThroughputRatio?: number;
  /** Gatehouse p99 latency, in milliseconds. */
  maxP99Ms?: number;
};

export type LoadSettings = {
  connections: number;
  /** Measured seconds per server; undefined leaves each scenario its own default. */
  duration?: number;
  warmup: number;
};

/** What a scenario may use to seed data, to add its baseline route and to drive Gatehouse. */
export type BenchContext = {
  gatehouseUrl: string;
  /** Full-scope key of the Gatehouse under test (BOOTSTRAP_ADMIN_TOKEN). */
  adminToken: string;
  gatehouse: GatehouseSettings;
  /** Key prefix of this run in Redis; everything under it is deleted at the end. */
  redisPrefix: string;
  /** The baseline server's pg pool and Redis client: the same database and Redis as Gatehouse. */
  pg: Pool;
  redis: Redis;
  /** Routes added here are served by the bare baseline server. */
  baselineRoutes: Router;
  baselineUrl: string;
};

/** Anything measured against Gatehouse and against a baseline in the same run. */
export type Scenario = {
  name: string;
  description: string;
  /** Roughly how long the scenario takes with these settings; sizes the run's watchdog. */
  budgetSeconds(settings: LoadSettings): number;
  run(context: BenchContext, settings: LoadSettings): Promise<ScenarioResult>;
};
