import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { runToExit, spawnService, type SpawnedService } from "../../support/spawn-service";

// `npm start` with nothing installed: PGlite, the in-process store and file mail, in a real process.
describe("the service on embedded defaults", () => {
  let dataDir: string;
  let service: SpawnedService;
  const token = "embedded-bootstrap-token-0123456789abcdef";

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "gatehouse-embedded-"));
    service = await spawnService({ DATA_DIR: dataDir, BOOTSTRAP_ADMIN_TOKEN: token, LOG_LEVEL: "info" }, 90_000);
  }, 120_000);

  afterAll(async () => {
    await service?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const call = (route: string, init: RequestInit = {}) =>
    fetch(`${service.url}${route}`, { ...init, headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", ...init.headers } });

  it("answers /healthz and /readyz with the embedded database and store", async () => {
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${service.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ok", checks: { database: "ok", kv: "ok" } });
  });

  it("says once, clearly, that it runs on single-process defaults", () => {
    const warnings = service.logs.filter((line) => line.includes("embedded single-process defaults"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("PGlite");
  });

  it("serves the admin API with the bootstrap token, persisting to PGlite", async () => {
    const created = await call("/api/v1/tenants", { method: "POST", body: JSON.stringify({ slug: "embedded", name: "Embedded", region: "au" }) });
    expect(created.status).toBe(201);
    const read = await call("/api/v1/tenants/embedded");
    expect(await read.json()).toMatchObject({ slug: "embedded", region: "au" });
    expect(existsSync(path.join(dataDir, "pg"))).toBe(true);
  });

  it("generated a development secret once, readable only by its owner", () => {
    const file = path.join(dataDir, "secret-keys");
    expect(readFileSync(file, "utf8")).toMatch(/^dev1:[A-Za-z0-9+/]{43}=\n$/);
    expect(statSync(file).mode & 0o077).toBe(0);
  });

  it("stops cleanly on SIGTERM", async () => {
    expect(await service.stop("SIGTERM")).toBe(0);
    expect(service.logs.some((line) => line.includes("gatehouse stopped"))).toBe(true);
  });
});

describe("start-up refusals", () => {
  it("a bad variable exits 1 with a message naming it", async () => {
    const { code, stderr } = await runToExit({ PORT: "eighty" });
    expect(code).toBe(1);
    expect(stderr).toContain("PORT:");
  });

  it("production refuses embedded defaults and a missing secret", async () => {
    const { code, stderr } = await runToExit({ NODE_ENV: "production", PUBLIC_URL: "https://login.example.com" });
    expect(code).toBe(1);
    for (const variable of ["DATABASE_URL", "REDIS_URL", "SMTP_URL", "SECRET_KEYS"]) expect(stderr).toContain(`${variable}:`);
  });
});
