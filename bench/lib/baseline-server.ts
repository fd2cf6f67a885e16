import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express, { Router, type NextFunction, type Request, type Response } from "express";
import { Redis } from "ioredis";
import { Pool } from "pg";

export type BaselineServer = { url: string; routes: Router; pg: Pool; redis: Redis; close(): Promise<void> };

/**
 * The floor Gatehouse is compared with: Express and the same drivers (pg, ioredis) with the same pool
 * size, but no middleware, no ORM and no error handling beyond a 500.
 */
export async function startBaselineServer(options: { databaseUrl: string; redisUrl: string; poolMax: number }): Promise<BaselineServer> {
  const pg = new Pool({ connectionString: options.databaseUrl, max: options.poolMax });
  // An idle connection can be cut while the database is dropped; without a listener pg would crash the run.
  pg.on("error", () => undefined);
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 1, connectionName: "gatehouse-bench-baseline" });
  const routes = Router();
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use(routes);
  // A failure shows up as a non-2xx count in the figures, which invalidates the run; no log needed.
  app.use((_error: unknown, _req: Request, res: Response, _next: NextFunction) => void res.status(500).end());

  const server = await new Promise<Server>((resolve, reject) => {
    const listening = app.listen(0, "127.0.0.1", (error?: Error) => (error ? reject(error) : resolve(listening)));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    routes,
    pg,
    redis,
    async close() {
      // Requests still in flight when the load stops finish before the pool goes away.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = setTimeout(() => server.closeAllConnections(), 2_000);
      await closed;
      clearTimeout(deadline);
      redis.disconnect();
      await pg.end();
    },
  };
}
