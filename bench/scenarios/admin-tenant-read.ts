import { createHash, randomBytes } from "node:crypto";
import { defineLoadScenario } from "../lib/load-scenario";
import type { BenchContext, Target } from "../lib/scenario";

type State = { slug: string; token: string };

const PROBE_KEY = "bench:probe";

/** 200 with the tenant we asked for; anything else means the run would measure an error path. */
function expectTenant(slug: string): Target["check"] {
  return (status, body) => {
    if (status !== 200) return "expected 200";
    try {
      return (JSON.parse(body) as { slug?: unknown }).slug === slug ? undefined : `expected tenant "${slug}" in the body`;
    } catch {
      return "expected a JSON body";
    }
  };
}

async function seedTenant(context: BenchContext): Promise<State> {
  const slug = `bench-${randomBytes(4).toString("hex")}`;
  const response = await fetch(new URL("/api/v1/tenants", context.gatehouseUrl), {
    method: "POST",
    headers: { authorization: `Bearer ${context.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ slug, name: "Bench Tenant", region: "us", emailDomains: ["bench.example"] }),
  });
  if (response.status !== 201) throw new Error(`creating the bench tenant: ${response.status} ${await response.text()}`);
  await context.redis.set(`${context.redisPrefix}${PROBE_KEY}`, "1");
  addBaselineRoute(context);
  return { slug, token: context.adminToken };
}

/** The same reads as Gatehouse's route, by hand: key by hash, a Redis GET, the tenant by slug. */
function addBaselineRoute({ pg, redis, redisPrefix, baselineRoutes }: BenchContext): void {
  baselineRoutes.get("/api/v1/tenants/:slug", async (req, res) => {
    const token = /^Bearer (\S+)$/.exec(req.get("authorization") ?? "")?.[1];
    const keyHash = token ? createHash("sha256").update(token).digest("hex") : "";
    const key = await pg.query<{ scopes: string[] }>(
      "SELECT id, scopes, tenant_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
      [keyHash],
    );
    if (!key.rows[0]?.scopes.includes("tenants:read")) {
      res.status(401).json({ status: 401 });
      return;
    }
    await redis.get(`${redisPrefix}${PROBE_KEY}`);
    const tenant = await pg.query("SELECT * FROM tenants WHERE slug = $1", [req.params.slug]);
    if (!tenant.rows[0]) {
      res.status(404).json({ status: 404 });
      return;
    }
    res.json(tenant.rows[0]);
  });
}

export const adminTenantRead = defineLoadScenario<State>({
  name: "admin-tenant-read",
  description: "GET /api/v1/tenants/{slug} with a full-scope API key",
  setup: seedTenant,
  gatehouseTarget: ({ slug, token }) => ({
    method: "GET",
    path: `/api/v1/tenants/${slug}`,
    headers: { authorization: `Bearer ${token}` },
    check: expectTenant(slug),
  }),
  baselineTarget: ({ slug, token }) => ({
    method: "GET",
    path: `/api/v1/tenants/${slug}`,
    headers: { authorization: `Bearer ${token}` },
    check: expectTenant(slug),
  }),
});
