// The support-staff SSO toggle: SSO needs a connection, enforcement needs SSO, and enforcement needs
// a way back in for an admin (or an explicit, audited force). Connections SSO depends on cannot vanish.
import { checkedAgent, startTestApp, uniqueSlug, type TestApp } from "../../support/harness";
import { addBreakGlassAdmin, makeCertificates } from "./fixtures";

let t: TestApp;
let certs: ReturnType<typeof makeCertificates>;

beforeAll(async () => {
  certs = makeCertificates();
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

async function newTenant(): Promise<string> {
  const slug = uniqueSlug("toggle");
  await t.api().post("/api/v1/tenants").send({ slug, name: "Toggle Co", region: "us" }).expect(201);
  return slug;
}

const addConnection = async (slug: string) =>
  (await t.api().post(`/api/v1/tenants/${slug}/sso-connections`).send({ type: "saml", idpEntityId: "urn:idp", ssoUrl: "https://idp.example/sso", certificates: [certs.valid] }).expect(201)).body.id as string;

const put = (slug: string, body: object) => t.api().put(`/api/v1/tenants/${slug}/sso`).send(body);
const policyEvents = async (slug: string) => (await t.api().get(`/api/v1/tenants/${slug}/audit-events`).query({ type: "sso.policy.updated" })).body.items;

describe("PUT /api/v1/tenants/{slug}/sso", () => {
  it("refuses to enable SSO without an enabled connection", async () => {
    const slug = await newTenant();
    const res = await put(slug, { enabled: true, enforced: false });
    expect([res.status, res.body.code]).toEqual([409, "sso_connection_required"]);
    const id = await addConnection(slug);
    await t.api().patch(`/api/v1/tenants/${slug}/sso-connections/${id}`).send({ enabled: false }).expect(200);
    expect((await put(slug, { enabled: true, enforced: false })).body.code).toBe("sso_connection_required");
    expect((await t.api().get(`/api/v1/tenants/${slug}`)).body.sso).toEqual({ enabled: false, enforced: false });
    expect(await policyEvents(slug)).toEqual([]);
  });

  it("refuses to enforce SSO that is not enabled", async () => {
    const slug = await newTenant();
    await addConnection(slug);
    await addBreakGlassAdmin(t, slug);
    const res = await put(slug, { enabled: false, enforced: true, force: true });
    expect([res.status, res.body.code]).toEqual([409, "sso_not_enabled"]);
  });

  it("enables, enforces and switches off, auditing each change with the actor's key", async () => {
    const slug = await newTenant();
    await addConnection(slug);
    await addBreakGlassAdmin(t, slug);
    expect((await put(slug, { enabled: true, enforced: false })).body).toEqual({ enabled: true, enforced: false });
    expect((await t.api().get(`/api/v1/tenants/${slug}`)).body.sso).toEqual({ enabled: true, enforced: false });
    expect((await put(slug, { enabled: true, enforced: true })).body).toEqual({ enabled: true, enforced: true });
    expect((await put(slug, { enabled: true, enforced: true })).status).toBe(200); // no change, no event
    expect((await put(slug, { enabled: false, enforced: false })).body).toEqual({ enabled: false, enforced: false });

    const events = (await policyEvents(slug)).reverse();
    expect(events.map((e: { data: unknown }) => e.data)).toEqual([
      { before: { enabled: false, enforced: false }, after: { enabled: true, enforced: false } },
      { before: { enabled: true, enforced: false }, after: { enabled: true, enforced: true }, breakGlassAdmins: 1 },
      { before: { enabled: true, enforced: true }, after: { enabled: false, enforced: false } },
    ]);
    const bootstrapKeyId = events[0].actor.id;
    expect(events.every((e: { actor: { type: string; id: string } }) => e.actor.type === "api_key" && e.actor.id === bootstrapKeyId)).toBe(true);
  });

  it("refuses to enforce when no admin could get in through a bypass URL, unless forced (audited as forced)", async () => {
    const slug = await newTenant();
    await addConnection(slug);
    await put(slug, { enabled: true, enforced: false }).expect(200);
    const refused = await put(slug, { enabled: true, enforced: true });
    expect([refused.status, refused.body.code]).toEqual([409, "sso_lockout_risk"]);
    expect((await t.api().get(`/api/v1/tenants/${slug}`)).body.sso.enforced).toBe(false);

    expect((await put(slug, { enabled: true, enforced: true, force: true })).body).toEqual({ enabled: true, enforced: true });
    const [latest] = await policyEvents(slug);
    expect(latest.data).toEqual({ before: { enabled: true, enforced: false }, after: { enabled: true, enforced: true }, breakGlassAdmins: 0, forced: true });
  });

  it("validates the body", async () => {
    const slug = await newTenant();
    const res = await put(slug, { enabled: "yes", enforced: false, extra: 1 });
    expect(res.body).toMatchObject({ status: 400, code: "validation_failed" });
  });
});

describe("connections SSO depends on", () => {
  it("cannot be disabled or deleted while they are the last enabled one; can once SSO is off", async () => {
    const slug = await newTenant();
    const first = await addConnection(slug);
    await put(slug, { enabled: true, enforced: false }).expect(200);
    const base = `/api/v1/tenants/${slug}/sso-connections/${first}`;

    expect((await t.api().patch(base).send({ enabled: false })).body.code).toBe("sso_connection_required");
    expect((await t.api().delete(base)).body).toMatchObject({ status: 409, code: "sso_connection_required" });

    const second = await addConnection(slug);
    await t.api().patch(base).send({ enabled: false }).expect(200); // another one is still enabled
    expect((await t.api().delete(`/api/v1/tenants/${slug}/sso-connections/${second}`)).status).toBe(409);

    await put(slug, { enabled: false, enforced: false }).expect(200);
    await t.api().delete(`/api/v1/tenants/${slug}/sso-connections/${second}`).expect(204);
    await t.api().delete(base).expect(204);
  });
});

describe("a key bound to another tenant", () => {
  it("gets 404 from the toggle and changes nothing", async () => {
    const slug = await newTenant();
    await addConnection(slug);
    const other = await newTenant();
    const key = (await t.api().post("/api/v1/api-keys").send({ name: "other", scopes: ["tenants:write"], tenant: other }).expect(201)).body.key;
    const res = await checkedAgent(t.app, key).put(`/api/v1/tenants/${slug}/sso`).send({ enabled: true, enforced: false });
    expect([res.status, res.body.code]).toEqual([404, "not_found"]);
    expect((await t.api().get(`/api/v1/tenants/${slug}`)).body.sso.enabled).toBe(false);
  });
});
