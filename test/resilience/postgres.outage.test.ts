// PostgreSQL becomes unreachable, even in the middle of a write: the service says 503 and leaves no half-written rows behind.
import { createServer, Socket, type Server } from "node:net";
import { Client } from "pg";
import supertest from "supertest";
import { systemClock } from "../../src/platform/clock";
import { startTestApp, type TestApp } from "../support/harness";
import { adminApi, createTenant, PASSWORD } from "../support/login-helpers";
import { createPrivateDatabase } from "../support/private-database";

let t: TestApp;
let proxy: PgProxy;
let privateDb: { url: string; drop(): Promise<void> };
let direct: Client;

beforeAll(async () => {
  // A database of its own, reached only through a proxy this test can cut; the test reads it directly.
  privateDb = await createPrivateDatabase("pg_outage");
  const target = new URL(privateDb.url);
  proxy = await startPgProxy(target.hostname, Number(target.port || 5432));
  const viaProxy = new URL(privateDb.url);
  viaProxy.hostname = "127.0.0.1";
  viaProxy.port = String(proxy.port);
  t = await startTestApp({ DATABASE_URL: viaProxy.toString() }, systemClock, { checkDatabase: true });
  direct = new Client({ connectionString: privateDb.url });
  await direct.connect();
});

afterAll(async () => {
  await t?.close();
  await proxy?.close();
  await direct?.end();
  await privateDb?.drop();
});

const newUser = (slug: string, email: string) => adminApi(t).post(`/api/v1/tenants/${slug}/users`).send({ email, name: "Someone", kind: "contractor", password: PASSWORD });

async function rowsOf(slug: string): Promise<{ users: number; created: number }> {
  const { rows } = await direct.query<{ users: string; created: string }>(
    `SELECT (SELECT count(*) FROM users u WHERE u.tenant_id = t.id) AS users,
            (SELECT count(*) FROM audit_events a WHERE a.tenant_id = t.id AND a.type = 'user.created') AS created
       FROM tenants t WHERE t.slug = $1`,
    [slug],
  );
  return { users: Number(rows[0]?.users), created: Number(rows[0]?.created) };
}

describe("PostgreSQL unreachable", () => {
  it("answers 503 to readiness and writes, loses no half-written user, and writes again once it returns", async () => {
    const slug = await createTenant(t);
    expect((await newUser(slug, `before@${slug}.example`)).status).toBe(201);
    expect((await supertest(t.app).get("/readyz")).status).toBe(200);

    // Cut every connection the moment the audit row of the next user is sent: the user row is already in the transaction.
    proxy.cutWhenSent(/INSERT INTO[^]*audit_events/);
    const cut = await newUser(slug, `mid-write@${slug}.example`);
    expect(proxy.sent.some((sql) => /INSERT INTO[^]*"users"/.test(sql))).toBe(true);
    expect(cut.status).toBe(503);
    expect(cut.headers["content-type"]).toMatch(/^application\/problem\+json/);

    const ready = await supertest(t.app).get("/readyz");
    expect(ready.status).toBe(503);
    expect(ready.body.checks).toEqual({ database: "unavailable", kv: "ok" });
    const write = await newUser(slug, `while-down@${slug}.example`);
    expect(write.status).toBe(503);
    expect(write.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(write.body).toMatchObject({ status: 503 });
    expect(write.headers["retry-after"]).toBe("5");

    await proxy.restore();
    let readyAgain = false;
    for (const startedAt = Date.now(); !readyAgain && Date.now() - startedAt < 5_000; ) {
      readyAgain = (await supertest(t.app).get("/readyz")).status === 200;
      if (!readyAgain) await sleep(100);
    }
    expect(readyAgain).toBe(true);
    expect((await newUser(slug, `after@${slug}.example`)).status).toBe(201);

    // The cut transaction was rolled back whole: every user has its audit row, and the cut one is neither.
    const { rows: emails } = await direct.query<{ email: string }>(
      "SELECT u.email FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE t.slug = $1 ORDER BY u.email",
      [slug],
    );
    expect(emails.map((row) => row.email)).toEqual([`after@${slug}.example`, `before@${slug}.example`]);
    expect(await rowsOf(slug)).toEqual({ users: 2, created: 2 });
  });
});

type PgProxy = {
  port: number;
  /** SQL-bearing chunks the app sent since the last cut was armed. */
  sent: string[];
  cutWhenSent(pattern: RegExp): void;
  restore(): Promise<void>;
  close(): Promise<void>;
};

/** A TCP proxy in front of PostgreSQL that can drop every connection and stop listening, like a lost network. */
async function startPgProxy(host: string, targetPort: number): Promise<PgProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let trigger: RegExp | undefined;
  const sent: string[] = [];

  async function listen(port: number): Promise<number> {
    server = createServer((client) => {
      const upstream = new Socket();
      sockets.add(client).add(upstream);
      const forget = () => sockets.delete(client) && sockets.delete(upstream);
      client.on("close", forget);
      upstream.on("close", forget);
      client.on("error", () => upstream.destroy());
      upstream.on("error", () => client.destroy());
      client.on("data", (chunk: Buffer) => {
        if (trigger) {
          const text = chunk.toString("latin1");
          sent.push(text);
          if (trigger.test(text)) {
            trigger = undefined;
            cutAll();
            return;
          }
        }
        upstream.write(chunk);
      });
      upstream.on("data", (chunk: Buffer) => client.write(chunk));
      client.on("end", () => upstream.end());
      upstream.on("end", () => client.end());
      upstream.connect(targetPort, host);
    });
    await new Promise<void>((resolve) => server!.listen(port, "127.0.0.1", resolve));
    return (server!.address() as { port: number }).port;
  }

  function cutAll(): void {
    server?.close();
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  }

  const port = await listen(0);
  return {
    port,
    sent,
    cutWhenSent(pattern) {
      sent.length = 0;
      trigger = pattern;
    },
    async restore() {
      await listen(port);
    },
    async close() {
      cutAll();
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
