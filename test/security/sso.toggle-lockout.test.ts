// Attack: support staff, or someone holding a stolen support key, enforce SSO on a tenant; the IdP
// then fails (outage, expired certificate) and no admin has a working bypass login: everyone is locked out.
import { checkedAgent, startTestApp, uniqueSlug, type TestApp } from "../support/harness";
import { addBreakGlassAdmin, makeCertificates } from "../integration/sso/fixtures";

let t: TestApp;
let certs: ReturnType<typeof makeCertificates>;
const password = "correct horse battery staple";

beforeAll(async () => {
  certs = makeCertificates();
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

async function ssoEnabledTenant(): Promise<string> {
  const slug = uniqueSlug("lock");
  await t.api().post("/api/v1/tenants").send({ slug, name: "Lock Co", region: "us" }).expect(201);
  await t.api().post(`/api/v1/tenants/${slug}/sso-connections`).send({ type: "saml", idpEntityId: "urn:idp", ssoUrl: "https://idp.example/sso", certificates: [certs.valid] }).expect(201);
  await t.api().put(`/api/v1/tenants/${slug}/sso`).send({ enabled: true, enforced: false }).expect(200);
  return slug;
}

const enforce = (slug: string, as = t.api()) => as.put(`/api/v1/tenants/${slug}/sso`).send({ enabled: true, enforced: true });

/** Admins that look like a way in but are not one. */
const almostBreakGlass: [string, Record<string, unknown>, Record<string, unknown>][] = [
  ["an admin not on the bypass list", { ssoBypass: false }, {}],
  ["an admin without TOTP", {}, { totpSecret: null, totpEnrolledAt: null }],
  ["an admin without a password", { password: undefined }, {}],
  ["a deactivated admin", {}, { status: "deactivated" }],
  ["an admin whose password was blocked by a forced reset", {}, { passwordRotation: "reset_required" }],
  ["a plain user with bypass, password and TOTP", { role: "user" }, {}],
];

describe("enforcing SSO with no way back in", () => {
  it.each(almostBreakGlass)("is refused when the only candidate is %s", async (_label, create, dbChange) => {
    const slug = await ssoEnabledTenant();
    const body = { email: "admin@lock.example", name: "Admin", kind: "member", role: "admin", ssoBypass: true, password, ...create };
    const user = await t.api().post(`/api/v1/tenants/${slug}/users`).send(body).expect(201);
    await t.container.infra.db.user.update({ where: { id: user.body.id }, data: { totpSecret: "v1.sealed-in-test", totpEnrolledAt: new Date(), ...dbChange } });

    const res = await enforce(slug);
    expect([res.status, res.body.code]).toEqual([409, "sso_lockout_risk"]);
    expect((await t.api().get(`/api/v1/tenants/${slug}`)).body.sso).toEqual({ enabled: true, enforced: false });
  });

  it("is refused for a stolen tenant-bound support key too; a read-only key cannot even try", async () => {
    const slug = await ssoEnabledTenant();
    const stolen = (await t.api().post("/api/v1/api-keys").send({ name: "support", scopes: ["tenants:write"], tenant: slug }).expect(201)).body.key;
    expect((await enforce(slug, checkedAgent(t.app, stolen))).body.code).toBe("sso_lockout_risk");
    const readOnly = (await t.api().post("/api/v1/api-keys").send({ name: "viewer", scopes: ["tenants:read"], tenant: slug }).expect(201)).body.key;
    expect((await enforce(slug, checkedAgent(t.app, readOnly))).status).toBe(403);
    expect((await t.api().get(`/api/v1/tenants/${slug}`)).body.sso.enforced).toBe(false);
  });

  it("goes through when forced, and the audit trail names the key and says it was forced", async () => {
    const slug = await ssoEnabledTenant();
    const stolen = await t.api().post("/api/v1/api-keys").send({ name: "support", scopes: ["tenants:write"], tenant: slug }).expect(201);
    const res = await checkedAgent(t.app, stolen.body.key).put(`/api/v1/tenants/${slug}/sso`).send({ enabled: true, enforced: true, force: true });
    expect(res.body).toEqual({ enabled: true, enforced: true });
    const [event] = (await t.api().get(`/api/v1/tenants/${slug}/audit-events`).query({ type: "sso.policy.updated" })).body.items;
    expect(event.actor).toEqual({ type: "api_key", id: stolen.body.id });
    expect(event.data).toMatchObject({ forced: true, breakGlassAdmins: 0, before: { enforced: false }, after: { enforced: true } });
  });

  it("goes through without force once one admin really has a bypass login with MFA", async () => {
    const slug = await ssoEnabledTenant();
    await addBreakGlassAdmin(t, slug);
    expect((await enforce(slug)).body).toEqual({ enabled: true, enforced: true });
  });
});
