import { mkdirSync } from "node:fs";
import vm from "node:vm";
import type { PGlite, PGliteOptions } from "@electric-sql/pglite";
import type { PGLiteSocketServer, PGLiteSocketServerOptions } from "@electric-sql/pglite-socket";

export type EmbeddedPostgresOptions = { dataDir: string; host?: string; port?: number };
export type EmbeddedPostgres = { url: string; stop(): Promise<void> };

type PGliteModule = { PGlite: { create(options: PGliteOptions): Promise<PGlite> } };
type SocketModule = { PGLiteSocketServer: new (options: PGLiteSocketServerOptions) => PGLiteSocketServer };

// Spare server slots only absorb a closing client overlapping the next one (pg pools reconnect without
// waiting); PGlite is one backend, so callers must still use one connection at a time (Prisma poolMax 1).
const MAX_SOCKET_CONNECTIONS = 4;

// PGlite calls import() internally, which Jest's sandbox rejects (and swc rewrites our own import() to
// require()), so load both packages with Node's own ESM loader from the main context. Built lazily:
// Node prints an ExperimentalWarning for this loader option, only when embedded mode is really used.
function importNative(specifier: string): Promise<unknown> {
  const load = vm.runInThisContext("(specifier) => import(specifier)", {
    filename: __filename,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  }) as (specifier: string) => Promise<unknown>;
  return load(specifier);
}

/**
 * The embedded default when no DATABASE_URL is set: PGlite persisted under `dataDir`, served over the
 * PostgreSQL wire protocol on a local port so the migration runner and Prisma use it like a real server.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const { PGlite } = (await importNative("@electric-sql/pglite")) as PGliteModule;
  const { PGLiteSocketServer } = (await importNative("@electric-sql/pglite-socket")) as SocketModule;
  mkdirSync(options.dataDir, { recursive: true });
  const db = await PGlite.create({ dataDir: options.dataDir });
  const host = options.host ?? "127.0.0.1";
  const server = new PGLiteSocketServer({ db, host, port: options.port ?? 0, maxConnections: MAX_SOCKET_CONNECTIONS });
  try {
    await server.start();
  } catch (error) {
    await db.close();
    throw error;
  }
  return { url: connectionUrl(server.getServerConn()), stop: () => stopBoth(server, db) };
}

function connectionUrl(hostAndPort: string): string {
  const url = new URL(`postgresql://${hostAndPort}/postgres`);
  url.username = "postgres";
  return url.toString();
}

async function stopBoth(server: PGLiteSocketServer, db: PGlite): Promise<void> {
  await server.stop();
  if (!db.closed) await db.close();
}
