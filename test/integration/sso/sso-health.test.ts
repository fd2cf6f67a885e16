// Support staff watch their tenants' identity providers: login health per connection, certificates about
// to expire across tenants, and a daily check that warns each tenant's admins 30, 7 and 1 days ahead.
import supertest from "supertest";
import { ManualClock } from "../../../src/platform/clock";
import { startTestApp, uniqueSlug, type TestApp } from "../../support/harness";
import { queuedMails } from "../../support/outbox";
import { TestSamlIdp } from "../../support/saml-idp";
import { setUpSamlTenant } from "../../support/saml-login";
import { makeCertificates } from "./fixtures";

const DAY = 24 * 60 * 60 * 1000;
let t: TestApp;
let clock: ManualClock;
let certs: ReturnType<typeof makeCertificates>;

beforeAll(async () => {
  certs = makeCertificates();
  clock = new ManualClock(new Date());
  t = await startTestApp({}, clock);
});
afterAll(async () => {
  await t.close();
});

async function tenantWithSaml(certificates: string[], admins: string[] = []): Promise<{ slug: string; tenantId: string; connectionId: string }> {
  const slug = uniqueSlug("idp");
  const tenantId = (await t.api().post("/api/v1/tenants").send({ slug, name: `Tenant ${slug}`, region: "us", securityContactEmail: `security@${slug}.example` }).expect(201)).body.id;
  for (const email of admins) await t.api().post(`/api/v1/tenants/${slug}/users`).send({ email, name: "Admin", kind: "member", role: "admin" }).expect(201);
  const connection = await t.api().post(`/api/v1/tenants/${slug}/sso-connections`)
    .send({ type: "saml", idpEntityId: `https://idp.example/${slug}`, ssoUrl: "https://idp.example/sso", certificates })
    .expect(201);
  return { slug, tenantId, connectionId: connection.body.id };
}

describe("connection health", () => {
  it("a new connection has no login yet and no failures", async () => {
    const { slug, connectionId } = await tenantWithSaml([certs.second]);
    const res = await t.api().get(`/api/v1/tenants/${slug}/sso-connections/${connectionId}`).expect(200);
    const none = { windowHours: 24, total: 0, byReason: {} };
    expect(res.body.health).toEqual({ lastLoginAt: null, failures: none, logoutFailures: none });
  });

  it("counts refused logins of the last day by reason, per connection", async () => {
    const { slug, tenantId, connectionId } = await tenantWithSaml([certs.second]);
    const other = await tenantWithSaml([certs.second]);
    const fail = (reason: string, connection = connectionId, tenant = tenantId) =>
      t.container.ssoLogin.recordFailure({ tenantId: tenant, connectionId: connection, protocol: "saml", reason, client: { ip: "198.51.100.7" } });
    await fail("signature_invalid");
    await fail("signature_invalid");
    await fail("replayed");
    await fail("audience_mismatch", other.connectionId, other.tenantId);

    const list = await t.api().get(`/api/v1/tenants/${slug}/sso-connections`).expect(200);
    expect(list.body.items[0].health.failures).toEqual({ windowHours: 24, total: 3, byReason: { signature_invalid: 2, replayed: 1 } });
    const audit = await t.api().get(`/api/v1/tenants/${slug}/audit-events`).query({ type: "sso.login.failed" }).expect(200);
    expect(audit.body.items).toHaveLength(3);
    expect(audit.body.items[0]).toMatchObject({ actor: { type: "anonymous" }, ip: "198.51.100.7", data: { connectionId, reason: "replayed" } });
  });

  it("counts refused single-logout messages by reason, apart from refused logins", async () => {
    const tenant = await setUpSamlTenant(t);
    const slo = (url: string) => supertest(t.app).get(new URL(url).pathname + new URL(url).search).set("Accept", "text/html").expect(400);
    await slo(tenant.idp.logoutRequest(tenant.spMetadata, { nameId: "a@corp.example" }, { binding: "redirect", sign: false }).url!);
    await slo(tenant.idp.logoutRequest(tenant.spMetadata, { nameId: "a@corp.example" }, { binding: "redirect", signer: new TestSamlIdp() }).url!);
    await slo(tenant.idp.logoutResponse(tenant.spMetadata, "_never-sent", { binding: "redirect" }).url!);

    const res = await t.api().get(`/api/v1/tenants/${tenant.slug}/sso-connections/${tenant.connectionId}`).expect(200);
    expect(res.body.health.failures.total).toBe(0);
    expect(res.body.health.logoutFailures).toEqual({ windowHours: 24, total: 3, byReason: { unsigned: 1, signature_invalid: 1, unknown_in_response_to: 1 } });
    const audit = await t.api().get(`/api/v1/tenants/${tenant.slug}/audit-events`).query({ type: "sso.logout.failed" }).expect(200);
    expect(audit.body.items).toHaveLength(3);
    expect(audit.body.items[0]).toMatchObject({ actor: { type: "anonymous" }, target: { type: "sso_connection", id: tenant.connectionId }, data: { reason: "unknown_in_response_to", message: "LogoutResponse" } });
  });
});

describe("GET /api/v1/sso-connections?expiringWithinDays", () => {
  it("lists, across tenants, only the certificates expiring within the window", async () => {
    const soon = await tenantWithSaml([certs.valid, certs.second]);
    const later = await tenantWithSaml([certs.second]);
    const items: { tenant: string; certificate: { subject: string; daysLeft: number } }[] = [];
    let cursor: string | undefined;
    do {
      const page = await t.api().get("/api/v1/sso-connections").query({ expiringWithinDays: 31, limit: 2, ...(cursor ? { cursor } : {}) }).expect(200);
      items.push(...page.body.items);
      cursor = page.body.nextCursor ?? undefined;
    } while (cursor);
    const mine = items.filter((item) => item.tenant === soon.slug || item.tenant === later.slug);
    expect(mine).toEqual([expect.objectContaining({ tenant: soon.slug, certificate: expect.objectContaining({ subject: "CN=idp" }) })]);
    expect(mine[0]!.certificate.daysLeft).toBeLessThanOrEqual(30);
  });

  it("a key bound to one tenant sees only that tenant's certificates", async () => {
    const mine = await tenantWithSaml([certs.valid]);
    await tenantWithSaml([certs.valid]);
    const key = (await t.api().post("/api/v1/api-keys").send({ name: "support", scopes: ["tenants:read"], tenant: mine.slug }).expect(201)).body.key;
    const res = await t.api().get("/api/v1/sso-connections").set("Authorization", `Bearer ${key}`).query({ expiringWithinDays: 365 }).expect(200);
    expect(new Set(res.body.items.map((item: { tenant: string }) => item.tenant))).toEqual(new Set([mine.slug]));
  });

  it("needs the window: a missing or negative expiringWithinDays is a 400", async () => {
    await t.api().get("/api/v1/sso-connections").expect(400);
    await t.api().get("/api/v1/sso-connections").query({ expiringWithinDays: -1 }).expect(400);
  });
});

describe("daily certificate-expiry check", () => {
  it("warns admins and the security contact once per threshold, and audits each warning", async () => {
    const tenant = await tenantWithSaml([certs.valid, certs.second], [`admin@${uniqueSlug("a")}.example`]);
    const mailsFor = async () => (await queuedMails(t.container.infra.db, { kind: "sso_certificate_expiry" })).filter((mail) => mail.includes(tenant.slug));
    const events = async () => (await t.api().get(`/api/v1/tenants/${tenant.slug}/audit-events`).query({ type: "sso.certificate.expiring" }).expect(200)).body.items;

    await t.container.certificateAlerts.runOnce();
    expect(await mailsFor()).toHaveLength(2); // the admin and the security contact; the 400-day certificate is not due
    expect((await mailsFor())[0]).toContain("expires on");
    await t.container.certificateAlerts.runOnce();
    expect(await mailsFor()).toHaveLength(2); // the same threshold is not repeated

    clock.advance(25 * DAY); // about five days left: the 7-day warning
    await t.container.certificateAlerts.runOnce();
    clock.advance(10 * DAY); // expired
    await t.container.certificateAlerts.runOnce();
    const thresholds = (await events()).map((event: { data: { threshold: number; connectionId: string } }) => event.data.threshold).sort((a: number, b: number) => a - b);
    expect(thresholds).toEqual([0, 7, 30]);
    expect((await mailsFor()).filter((mail) => mail.includes("has expired"))).toHaveLength(2);
  });
});
