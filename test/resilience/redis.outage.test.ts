// Redis dies under signed-in traffic: nothing may be authenticated without a verified session, and service must resume on its own.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import supertest from "supertest";
import { startTestApp, type TestApp } from "../support/harness";
import { CookieBrowser, createTenant, createUser, PASSWORD, signInSkippingMfa } from "../support/login-helpers";

let t: TestApp;
let port: number;
let redis: ChildProcess | undefined;

beforeAll(async () => {
  port = await freePort();
  redis = await startRedis(port);
  t = await startTestApp({ REDIS_URL: `redis://127.0.0.1:${port}` });
});

afterAll(async () => {
  await t?.close();
  await stopRedis(redis, "SIGTERM");
});

describe("Redis stops while signed-in requests are running", () => {
  it("fails closed while it is down and serves again within 5 s of its return, without a restart", async () => {
    const slug = await createTenant(t, { mfaRequired: false });
    const email = `redis-outage@${slug}.example`;
    await createUser(t, slug, { email });
    const browser = new CookieBrowser(t.app);
    await signInSkippingMfa(browser, { tenant: slug, email, password: PASSWORD });
    expect((await browser.get("/authz")).status).toBe(200);
    expect((await browser.get("/account")).status).toBe(200);

    // A batch in flight when Redis dies: each answers with the page or 503, never an error page or a crash.
    const inFlight = Array.from({ length: 20 }, (_, i) => browser.get(i % 2 ? "/account" : "/api/v1/session"));
    await stopRedis(redis, "SIGKILL");
    redis = undefined;
    for (const res of await Promise.all(inFlight)) expect([200, 503]).toContain(res.status);

    const account = await browser.get("/account");
    expect(account.status).toBe(503);
    expect(account.headers["content-type"]).toMatch(/^text\/html/);
    expect(account.text).not.toContain(email);
    const session = await browser.get("/api/v1/session");
    expect(session.status).toBe(503);
    expect(session.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(session.body).toMatchObject({ status: 503 });
    const authz = await browser.get("/authz");
    expect(authz.status).toBe(401);
    expect(authz.headers["x-auth-user-id"]).toBeUndefined();
    const ready = await supertest(t.app).get("/readyz");
    expect(ready.status).toBe(503);
    expect(ready.body.checks.kv).toBe("unavailable");

    // Back, but empty (no persistence): the old session is gone and must not come back as valid.
    redis = await startRedis(port);
    const restartedAt = Date.now();
    while ((await supertest(t.app).get("/readyz")).status !== 200) {
      if (Date.now() - restartedAt > 5_000) throw new Error("/readyz still 503 five seconds after Redis returned");
      await sleep(100);
    }
    expect(Date.now() - restartedAt).toBeLessThan(5_000);
    expect((await browser.get("/authz")).status).toBe(401);

    const again = new CookieBrowser(t.app);
    await signInSkippingMfa(again, { tenant: slug, email, password: PASSWORD });
    expect((await again.get("/authz")).status).toBe(200);
    expect((await again.get("/account")).status).toBe(200);
    expect(Date.now() - restartedAt).toBeLessThan(5_000);
  });
});

async function startRedis(onPort: number): Promise<ChildProcess> {
  const child = spawn("redis-server", ["--port", String(onPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 10_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}:\n${output}`));
    });
  });
  return child;
}

async function stopRedis(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill(signal);
  await exited;
}

/** A loopback port nothing listens on: bound once, then closed. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port: free } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return free;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
