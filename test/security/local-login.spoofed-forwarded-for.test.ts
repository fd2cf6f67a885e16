// Attack: send a made-up X-Forwarded-For to pass a tenant's IP allowlist, dodge throttling by "changing address" every guess, or put a false IP in the audit trail.
import { startTestApp, type TestApp } from "../support/harness";
import { auditOf, CookieBrowser, createTenant, createUser, PASSWORD, passwordStep, type LoginForm } from "../support/login-helpers";

let direct: TestApp;
let behindProxy: TestApp;

beforeAll(async () => {
  [direct, behindProxy] = await Promise.all([startTestApp({ TRUST_PROXY: "" }), startTestApp({ TRUST_PROXY: "loopback" })]);
});
afterAll(async () => {
  await Promise.all([direct.close(), behindProxy.close()]);
});

/** A tenant allowing only `allowlist`, with one contractor; returns the login form for that contractor. */
async function tenantAllowing(t: TestApp, allowlist: string[], email: string): Promise<LoginForm> {
  const slug = await createTenant(t, { ipAllowlist: allowlist });
  await createUser(t, slug, { email });
  return { tenant: slug, email, password: PASSWORD };
}

const xff = (value: string) => ({ "X-Forwarded-For": value });

describe("with TRUST_PROXY empty (the default), X-Forwarded-For is ignored", () => {
  it("does not let a forged allowed address pass the tenant's IP allowlist", async () => {
    const form = await tenantAllowing(direct, ["10.0.0.0/8"], "a@xff.example");
    const res = await passwordStep(new CookieBrowser(direct.app), form, xff("10.1.1.1"));
    expect(res.status).toBe(403);
    expect(res.text).toContain("does not allow sign-in from this network");
    expect(await auditOf(direct, res)).toEqual([expect.objectContaining({ type: "login.failed", ip: "127.0.0.1", data: expect.objectContaining({ reason: "ip_not_allowed" }) })]);
  });

  it("records the connection's address, not the header's, in the audit trail", async () => {
    const form = await tenantAllowing(direct, [], "b@xff.example");
    const res = await passwordStep(new CookieBrowser(direct.app), { ...form, password: "wrong password!" }, xff("198.51.100.99"));
    expect(res.status).toBe(401);
    expect((await auditOf(direct, res)).map((e) => e.ip)).toEqual(["127.0.0.1"]);
  });

  it("still throttles the 11th guess when every guess claims a new address", async () => {
    const form = await tenantAllowing(direct, [], "c@xff.example");
    const browser = new CookieBrowser(direct.app);
    await browser.get("/us/login");
    const statuses: number[] = [];
    for (let i = 1; i <= 11; i++) {
      const res = await browser.post("/us/login", { ...form, password: `guess ${i}` }, { headers: xff(`203.0.113.${i}`) });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([...Array<number>(10).fill(401), 429]);
  });

  it("reads the IPv4-mapped IPv6 address of a local connection as plain IPv4 (allowlist and audit)", async () => {
    // The test server listens on "::", so a connection to 127.0.0.1 arrives as ::ffff:127.0.0.1.
    const form = await tenantAllowing(direct, ["127.0.0.1/32"], "d@xff.example");
    const allowed = await passwordStep(new CookieBrowser(direct.app), form);
    expect(allowed.status).toBe(303);
    const failed = await passwordStep(new CookieBrowser(direct.app), { ...form, password: "wrong password!" });
    expect((await auditOf(direct, failed)).map((e) => e.ip)).toEqual(["127.0.0.1"]);
  });
});

describe("with TRUST_PROXY=loopback, the proxy's X-Forwarded-For is the client address", () => {
  it("lets an address from the allowlist in, and audits that address", async () => {
    const form = await tenantAllowing(behindProxy, ["10.0.0.0/8"], "e@xff.example");
    const allowed = await passwordStep(new CookieBrowser(behindProxy.app), form, xff("10.1.1.1"));
    expect(allowed.status).toBe(303);
    expect(allowed.headers.location).toBe("/us/mfa/setup");
    const failed = await passwordStep(new CookieBrowser(behindProxy.app), { ...form, password: "wrong password!" }, xff("10.1.1.1"));
    expect((await auditOf(behindProxy, failed)).map((e) => e.ip)).toEqual(["10.1.1.1"]);
  });

  it("normalises an IPv4-mapped IPv6 address from the proxy", async () => {
    const form = await tenantAllowing(behindProxy, ["10.0.0.0/8"], "f@xff.example");
    const failed = await passwordStep(new CookieBrowser(behindProxy.app), { ...form, password: "wrong password!" }, xff("::ffff:10.1.1.1"));
    expect(failed.status).toBe(401);
    expect((await auditOf(behindProxy, failed)).map((e) => e.ip)).toEqual(["10.1.1.1"]);
  });

  it("counts an IPv6 /64 as one address: hopping between its addresses does not escape the 11th-guess throttle", async () => {
    const form = await tenantAllowing(behindProxy, [], "h@xff.example");
    const browser = new CookieBrowser(behindProxy.app);
    await browser.get("/us/login");
    const statuses: number[] = [];
    for (let i = 1; i <= 11; i++) {
      const res = await browser.post("/us/login", { ...form, password: `guess ${i}` }, { headers: xff(`2001:db8:7:9::${i.toString(16)}`) });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([...Array<number>(10).fill(401), 429]);
  });

  it("ignores addresses a client prepended itself: the one the proxy appended counts", async () => {
    const form = await tenantAllowing(behindProxy, ["10.0.0.0/8"], "g@xff.example");
    const res = await passwordStep(new CookieBrowser(behindProxy.app), form, xff("10.1.1.1, 198.51.100.7"));
    expect(res.status).toBe(403);
    expect((await auditOf(behindProxy, res)).map((e) => e.ip)).toEqual(["198.51.100.7"]);
  });
});
