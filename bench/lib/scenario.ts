import type { Router } from "express";
import type { Redis } from "ioredis";
import type { Pool } from "pg";

/** One HTTP request that autocannon repeats; `path` is relative to the server it is fired at. */
export type Target = {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Checked once before the load: a scenario that measures errors measures nothing. */
  check(status: number, body: string): string | undefined;
};

/** A bound a scenario should stay within; reported, never fatal. */
export type Goal = {
  description: string;
  /** Gatehouse req/s divided by baseline req/s must be at least this. */
  minThroughputRatio?: number;
  /** Gatehouse p99 latency, in milliseconds. */
  maxP99Ms?: number;
};

/** What a scenario may use to seed data and to add its baseline route. */
export type BenchContext = {
  gatehouseUrl: string;
  /** Full-scope key of the Gatehouse under test (BOOTSTRAP_ADMIN_TOKEN). */
  adminToken: string;
  /** Key prefix of this run in Redis; everything under it is deleted at the end. */
  redisPrefix: string;
  /** The baseline server's pg pool and Redis client: the same database and Redis as Gatehouse. */
  pg: Pool;
  redis: Redis;
  /** Routes added here are served by the bare baseline server. */
  baselineRoutes: Router;
};

export type Scenario<State = unknown> = {
  name: string;
  description: string;
  setup(context: BenchContext): Promise<State>;
  gatehouseTarget(state: State): Target;
  baselineTarget(state: State): Target;
  goal?: Goal;
};

/** Keeps a list of scenarios with different state types well typed. */
export function defineScenario<State>(scenario: Scenario<State>): Scenario<unknown> {
  return scenario as Scenario<unknown>;
}
