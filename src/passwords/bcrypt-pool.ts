import { availableParallelism } from "node:os";
import bcrypt from "bcrypt";
import { createWorkerPool } from "../platform/worker-pool";

/** Where bcrypt runs: libuv's shared thread pool, or a pool of low-priority worker threads. */
export interface BcryptBackend {
  hash(data: string, cost: number): Promise<string>;
  compare(data: string, hash: string): Promise<boolean>;
  close(): Promise<void>;
}

/** bcrypt's own async API: work on libuv's pool, at the process's priority. */
export const libuvBcrypt: BcryptBackend = {
  hash: (data, cost) => bcrypt.hash(data, cost),
  compare: (data, hash) => bcrypt.compare(data, hash),
  close: async () => undefined,
};

export type BcryptPoolOptions = { size?: number; nice?: number };

/**
 * bcrypt on worker threads at a low scheduling priority (nice 19 by default): the event loop, Redis and
 * PostgreSQL keep theirs, so a login storm uses all idle CPU but never delays a session check behind bcrypt.
 */
export function createBcryptWorkerPool(options: BcryptPoolOptions = {}): BcryptBackend & { readonly size: number; reniced(): Promise<boolean> } {
  const pool = createWorkerPool({ modulePath: require.resolve("./bcrypt-ops"), size: options.size ?? availableParallelism(), nice: options.nice ?? 19, name: "bcrypt" });
  return {
    size: pool.size,
    reniced: () => pool.reniced(),
    hash: (data, cost) => pool.run<string>("hash", [data, cost]),
    compare: (data, hashed) => pool.run<boolean>("compare", [data, hashed]),
    close: () => pool.close(),
  };
}
