import { PrismaPg } from "@prisma/adapter-pg";
import { Prisma, PrismaClient } from "../../generated/prisma/client";

/** The full client; stores that need `$transaction` take this. */
export type Db = PrismaClient;
/** What `$transaction(async (tx) => ...)` hands out; stores that only query accept `Db | DbTx`. */
export type DbTx = Prisma.TransactionClient;
/** A statement not yet run: several go to `db.$transaction([...])` as one batch, without an interactive transaction. */
export type DbWrite = Prisma.PrismaPromise<unknown>;

export type PrismaClientOptions = {
  /** pg pool size; must be 1 on the embedded PGlite server, which is a single backend. */
  poolMax?: number;
};

export function createPrismaClient(connectionString: string, options: PrismaClientOptions = {}): PrismaClient {
  const poolConfig = options.poolMax === undefined ? { connectionString } : { connectionString, max: options.poolMax };
  return new PrismaClient({ adapter: new PrismaPg(poolConfig) });
}
