// Two stateless instances behind one load balancer, sharing PostgreSQL and a Redis key prefix: whatever one
// instance learns (a session, a used SAML response, an SSO switch, a failed guess) the other must know too.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "pg";
import { uniqueSlug } from "../../support/harness";
import { PASSWORD } from "../../support/login-helpers";
import { createPrivateDatabase } from "../../support/private-database";
import { TestSamlIdp } from "../../support/saml-idp";
import { idpAnswer, postToAcs, sessionCookieOf, setUpSamlTenant, type SamlTarget } from "../../support/saml-login";
import { spawnService, type SpawnedService } from "../../support/spawn-service";
import { redisUrl, testRedisPrefix } from "../../support/test-env";

jest.setTimeout(30_000);

// What a load balancer gives its instances: one public URL (so SAML audiences and ACS URLs match) and one set of keys.
const PUBLIC_URL = "http://gatehouse.scale-out.test";
const token = `scale-out-${randomBytes(16).toString("hex")}`;
let privateDb: { url: string; drop(): Promise<void> } | undefined;
let dataDir: string | undefined;
const services: SpawnedService[] = [];
let a: SpawnedService;
let b: SpawnedService;

beforeAll(async () => {
  privateDb = await createPrivateDatabase("scaleout");
  dataDir = mkdtempSync(path.join(tmpdir(), "gatehouse-scale-out-"));
  const env = {
    NODE_ENV: "test",
    DATABASE_URL: privateDb.url,
    REDIS_URL: redisUrl(),
    REDIS_KEY_PREFIX: `${testRedisPrefix()}scale-out-${randomBytes(3).toString("hex")}:`,
    PUBLIC_URL,
    SECRET_KEYS: `k1:${randomBytes(32).toString("base64")}`,
    DATA_DIR: dataDir,
    BOOTSTRAP_ADMIN_TOKEN: token,
    BREACH_CHECK_URL: "",
    BCRYPT_COST: "4",
    // spawnService learns the port from the "gatehouse listening" line, so info is the quietest level that works.
    LOG_LEVEL: "info",
  };
  // One after the other: both would otherwise race to create the same files under DATA_DIR.
  services.push(await spawnService(env, 25_000));
  services.push(await spawnService(env, 25_000));
  [a, b] = services as [SpawnedService, SpawnedService];
}, 60_000);

afterAll(async () => {
  await Promise.all(services.map((service) => service.stop("SIGKILL")));
  await privateDb?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function query<Row>(sql: string, values: unknown[]): Promise<Row[]> {
  const client = new Client({ connectionString: privateDb!.url });
  await client.connect();
  try {
    return (await client.query(sql, values)).rows as Row[];
  } finally {
    await client.end();
  }
}

/** What a refused response must not have created: users and linked identities of the tenant. */
async function footprint(tenantId: string): Promise<unknown[]> {
  return query("SELECT (SELECT count(*)::int FROM users WHERE tenant_id = $1) AS users, (SELECT count(*)::int FROM external_identities WHERE tenant_id = $1) AS identities", [tenantId]);
}

const target = (service: SpawnedService): SamlTarget => ({ app: service.url, adminToken: token });

async function adminCall(service: SpawnedService, method: string, route: string, body: unknown, expected: number): Promise<Record<string, unknown>> {
  const res = await fetch(new URL(route, service.url), {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== expected) throw new Error(`${method} ${route} on ${service.url}: expected ${expected}, got ${res.status} ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

async function tenantWithContractor(email: string): Promise<string> {
  const slug = uniqueSlug("scale");
  await adminCall(a, "POST", "/api/v1/tenants", { slug, name: `Tenant ${slug}`, region: "us", mfaRequired: false }, 201);
  await adminCall(a, "POST", `/api/v1/tenants/${slug}/users`, { email, name: "Someone", kind: "contractor", password: PASSWORD }, 201);
  return slug;
}

type Answer = { status: number; location: string | null; headers: Headers; body: string };

/** One browser whose requests the load balancer may send to either instance: the cookie jar goes along. */
function createBrowser() {
  const jar = new Map<string, string>();
  let csrf = "";
  async function send(service: SpawnedService, method: "GET" | "POST", route: string, form?: Record<string, string>): Promise<Answer> {
    const headers: Record<string, string> = { Accept: "text/html", Cookie: [...jar].map(([name, value]) => `${name}=${value}`).join("; ") };
    if (form) headers["Content-Type"] = "application/x-www-form-urlencoded";
    const body = form ? new URLSearchParams({ _csrf: csrf, ...form }).toString() : undefined;
    const res = await fetch(new URL(route, service.url), { method, headers, body, redirect: "manual" });
    for (const line of res.headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const eq = pair.indexOf("=");
      const [name, value] = [pair.slice(0, eq).trim(), pair.slice(eq + 1).trim()];
      const expired = /;\s*max-age=0/i.test(line) || /;\s*expires=Thu, 01 Jan 1970/i.test(line);
      if (expired || value === "") jar.delete(name);
      else jar.set(name, value);
    }
    const text = await res.text();
    csrf = /name="_csrf" value="([^"]+)"/.exec(text)?.[1] ?? csrf;
    return { status: res.status, location: res.headers.get("location"), headers: res.headers, body: text };
  }
  return {
    get: (service: SpawnedService, route: string) => send(service, "GET", route),
    post: (service: SpawnedService, route: string, form: Record<string, string>) => send(service, "POST", route, form),
    hasSession: () => [...jar.keys()].some((name) => name.endsWith("gh_session")),
    cookieHeader: () => [...jar].map(([name, value]) => `${name}=${value}`).join("; "),
  };
}

describe("two instances sharing PostgreSQL and Redis", () => {
  it("honours a session created on A at B, and a logout on B ends it on A, where a copy of it was in use", async () => {
    const email = "roaming@scale-out.example";
    const slug = await tenantWithContractor(email);
    const browser = createBrowser();
    await browser.get(a, `/us/login?tenant=${slug}`);
    const step = await browser.post(a, "/us/login", { tenant: slug, email, password: PASSWORD });
    expect([step.status, step.location]).toEqual([303, "/us/mfa/setup"]);
    expect((await browser.post(a, "/us/mfa/setup/skip", {})).status).toBe(303);
    expect(browser.hasSession()).toBe(true);

    const onB = await browser.get(b, "/authz");
    expect(onB.status).toBe(200);
    expect(onB.headers.get("x-auth-user-id")).toBeTruthy();
    expect(onB.headers.get("x-auth-tenant")).toBe(slug);
    // Both instances now hold a copy of the session (tracked reads): the logout on B must reach A's at once.
    const cookie = browser.cookieHeader();
    expect((await browser.get(a, "/authz")).status).toBe(200);
    expect((await browser.get(b, "/authz")).status).toBe(200);

    // The logout form's CSRF token comes from B's account page, as a browser routed to B would get it.
    expect((await browser.get(b, "/account")).status).toBe(200);
    const logout = await browser.post(b, "/logout", {});
    expect(logout.status).toBe(303);
    const [onA, againOnB] = await Promise.all([browser.get(a, "/authz"), browser.get(b, "/authz")]);
    expect([onA.status, againOnB.status]).toEqual([401, 401]);
    // The logout cleared the browser's cookie; a copy of it, replayed, must fail too.
    const replayed = await Promise.all([a, b].map((service) => fetch(new URL("/authz", service.url), { headers: { Cookie: cookie } })));
    expect(replayed.map((res) => res.status)).toEqual([401, 401]);
  });

  it("puts an SSO switch made through A in force on B within one second", async () => {
    const slug = uniqueSlug("scale");
    const idp = new TestSamlIdp();
    await adminCall(a, "POST", "/api/v1/tenants", { slug, name: `Tenant ${slug}`, region: "us", mfaRequired: false }, 201);
    await adminCall(a, "POST", `/api/v1/tenants/${slug}/sso-connections`, {
      type: "saml", idpEntityId: idp.entityId, ssoUrl: idp.ssoUrl, certificates: [idp.certificate], provisioning: "jit",
    }, 201);
    const entryOnB = async () => (await fetch(new URL(`/login?tenant=${slug}`, b.url), { redirect: "manual" })).headers.get("location");
    // B has read the tenant with SSO off (and may cache it) before the switch.
    expect(await entryOnB()).toMatch(new RegExp(`/us/login\\?tenant=${slug}$`));

    await adminCall(a, "PUT", `/api/v1/tenants/${slug}/sso`, { enabled: true, enforced: false }, 200);
    const switchedAt = Date.now();
    let location = await entryOnB();
    while (location !== `${PUBLIC_URL}/sso/${slug}/start` && Date.now() - switchedAt < 1_000) {
      await sleep(50);
      location = await entryOnB();
    }
    expect(location).toBe(`${PUBLIC_URL}/sso/${slug}/start`);
    expect(Date.now() - switchedAt).toBeLessThanOrEqual(1_000);
  });

  it("counts failed password guesses alternating between A and B together: the 11th is throttled", async () => {
    // The attacker spreads guesses over the instances, hoping each keeps its own count.
    const email = "guessed@scale-out.example";
    const slug = await tenantWithContractor(email);
    const browser = createBrowser();
    await browser.get(a, "/us/login");
    const statuses: number[] = [];
    for (let i = 1; i <= 11; i++) {
      const res = await browser.post(i % 2 ? a : b, "/us/login", { tenant: slug, email, password: `wrong guess ${i}` });
      statuses.push(res.status);
      if (res.status === 429) break;
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses[10]).toBe(429);
    // The right password now waits on either instance.
    const right = await browser.post(a, "/us/login", { tenant: slug, email, password: PASSWORD });
    expect(right.status).toBe(429);
  });

  it("refuses on B a SAML response that A already accepted", async () => {
    // The attacker captured the victim's response and replays it to the other instance.
    const tenant = await setUpSamlTenant(target(a), { provisioning: "jit" });
    const form = await idpAnswer(target(a), tenant, { user: { nameId: "victim@corp.example" } });
    const accepted = await postToAcs(target(a), tenant.slug, form);
    expect(accepted.status).toBe(303);
    expect(sessionCookieOf(accepted)).toBeDefined();
    const before = await footprint(tenant.tenantId);

    const replayed = await postToAcs(target(b), tenant.slug, form);
    expect(replayed.status).toBeGreaterThanOrEqual(400);
    expect(replayed.status).toBeLessThan(500);
    expect(replayed.headers.location).toBeUndefined();
    expect(sessionCookieOf(replayed)).toBeUndefined();
    expect(await footprint(tenant.tenantId)).toEqual(before);
    const failures = await query<{ reason: string }>("SELECT data->>'reason' AS reason FROM audit_events WHERE tenant_id = $1 AND type = 'sso.login.failed' ORDER BY id", [tenant.tenantId]);
    expect(failures.map((f) => f.reason)).toEqual(["unknown_in_response_to"]);
  });

  it("refuses on B an unsolicited SAML response that A already accepted, by its assertion ID", async () => {
    // No request to use up here: only a shared assertion-ID cache tells B that A has seen this response.
    const tenant = await setUpSamlTenant(target(a), { provisioning: "jit", allowIdpInitiated: true });
    const form = { SAMLResponse: await tenant.idp.respond(tenant.spMetadata, null, { user: { nameId: "idp-victim@corp.example" } }) };
    expect((await postToAcs(target(a), tenant.slug, form)).status).toBe(303);
    const before = await footprint(tenant.tenantId);

    const replayed = await postToAcs(target(b), tenant.slug, form);
    expect(replayed.status).toBeGreaterThanOrEqual(400);
    expect(replayed.status).toBeLessThan(500);
    expect(sessionCookieOf(replayed)).toBeUndefined();
    expect(await footprint(tenant.tenantId)).toEqual(before);
    const failures = await query<{ reason: string }>("SELECT data->>'reason' AS reason FROM audit_events WHERE tenant_id = $1 AND type = 'sso.login.failed' ORDER BY id", [tenant.tenantId]);
    expect(failures.map((f) => f.reason)).toEqual(["replayed"]);
  });
});
