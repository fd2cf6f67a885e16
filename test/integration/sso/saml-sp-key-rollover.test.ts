// The SAML SP keys roll over in stages through the admin API: a staged key is published in SP metadata before
// it is used, activation switches signing (or the first encryption certificate) to it, the replaced key stays
// published and decrypting until it is retired, and every instance follows within its refresh interval.
import { createVerify, randomBytes, X509Certificate } from "node:crypto";
import { DOMParser } from "@xmldom/xmldom";
import supertest from "supertest";
import { SP_KEY_REFRESH_MS } from "../../../src/sso/saml/sp-signing-key";
import { checkedAgent, ManualClock, startTestApp, type TestApp } from "../../support/harness";
import { AES256_CBC } from "../../support/saml-idp";
import { idpAnswer, postToAcs, sessionCookieOf, setUpSamlTenant, startSamlLogin, type SamlTenant } from "../../support/saml-login";

const MD = "urn:oasis:names:tc:SAML:2.0:metadata";
const DSIG = "http://www.w3.org/2000/09/xmldsig#";

type Key = { id: string; status: string; activatedAt: string | null; retiredAt: string | null; certificate: { pem: string; fingerprint256: string; notAfter: string } };

const clock = new ManualClock(new Date());
// One deployment's secrets, shared by the second instance below: SP keys are sealed with them.
const env = { SECRET_KEYS: `test:${randomBytes(32).toString("base64")}` };
let t: TestApp;
let tenant: SamlTenant;

beforeAll(async () => {
  t = await startTestApp(env, clock);
  tenant = await setUpSamlTenant(t, { provisioning: "jit" });
});
afterAll(() => t.close());

const base64Of = (pem: string) => pem.replace(/-----[A-Z ]+-----|\s+/g, "");

async function metadataOf(app: TestApp): Promise<string> {
  const res = await supertest(app.app).get(`/sso/${tenant.slug}/saml/metadata`).expect(200);
  return res.text;
}

/** The certificates (bare base64) of the metadata's KeyDescriptors of `use`, in document order. */
function published(metadata: string, use: "signing" | "encryption"): string[] {
  const descriptors = Array.from(new DOMParser().parseFromString(metadata, "text/xml").getElementsByTagNameNS(MD, "KeyDescriptor"));
  return descriptors.filter((d) => d.getAttribute("use") === use).map((d) => d.getElementsByTagNameNS(DSIG, "X509Certificate")[0]!.textContent!.replace(/\s+/g, ""));
}

async function keys(use: "signing" | "encryption", app = t): Promise<Key[]> {
  return (await app.api().get(`/api/v1/saml/sp-keys/${use}`).expect(200)).body.items as Key[];
}

/** Whether the HTTP-Redirect AuthnRequest at `location` carries a signature that `certificatePem` verifies (saml-bindings 3.4.4.1). */
function redirectSignedBy(location: string, certificatePem: string): boolean {
  const query = new URL(location).search.slice(1);
  const raw = new Map(query.split("&").map((pair) => [pair.split("=")[0]!, pair.slice(pair.indexOf("=") + 1)]));
  const signed = ["SAMLRequest", "RelayState", "SigAlg"].filter((name) => raw.has(name)).map((name) => `${name}=${raw.get(name)}`).join("&");
  const verifier = createVerify("RSA-SHA256");
  verifier.update(signed);
  return verifier.verify(new X509Certificate(certificatePem).publicKey, Buffer.from(decodeURIComponent(raw.get("Signature") ?? ""), "base64"));
}

/** The tenant as its IdP knows it after reading the SP metadata again (the signing key may have changed). */
async function current(): Promise<SamlTenant> {
  return { ...tenant, spMetadata: await metadataOf(t) };
}

async function signsInWithAssertionEncryptedTo(certificatePem: string, email: string): Promise<{ status: number; location?: string }> {
  const form = await idpAnswer(t, await current(), { user: { nameId: email }, encrypt: { certificate: certificatePem, content: AES256_CBC } });
  const res = await postToAcs(t, tenant.slug, form);
  return { status: res.status, location: res.headers.location };
}

async function signedInEmail(res: { status: number }, cookie: string | undefined): Promise<string | undefined> {
  if (res.status !== 303 || !cookie) return undefined;
  const session = await supertest(t.app).get("/api/v1/session").set("Cookie", cookie);
  return session.status === 200 ? session.body.user?.email : undefined;
}

describe("signing key rollover", () => {
  it("publishes a staged key before it signs, signs with it once activated, and drops the old one when retired", async () => {
    const [old] = await keys("signing");
    expect(old).toMatchObject({ status: "active", retiredAt: null });
    expect(published(await metadataOf(t), "signing")).toEqual([base64Of(old!.certificate.pem)]);

    const staged = (await t.api().post("/api/v1/saml/sp-keys/signing").expect(201)).body as Key;
    expect(staged).toMatchObject({ status: "next", activatedAt: null, retiredAt: null });
    expect(new Date(staged.certificate.notAfter).getTime()).toBeGreaterThan(clock.now().getTime() + 9 * 365 * 86_400_000);
    // Published at once, the active key first; AuthnRequests are still signed by the active key.
    expect(published(await metadataOf(t), "signing")).toEqual([base64Of(old!.certificate.pem), base64Of(staged.certificate.pem)]);
    let location = await startSamlLogin(t, tenant.slug);
    expect(redirectSignedBy(location, old!.certificate.pem)).toBe(true);
    expect(redirectSignedBy(location, staged.certificate.pem)).toBe(false);

    const activated = (await t.api().post(`/api/v1/saml/sp-keys/signing/${staged.id}/activate`).expect(200)).body as Key;
    expect(activated.status).toBe("active");
    location = await startSamlLogin(t, tenant.slug);
    expect(redirectSignedBy(location, staged.certificate.pem)).toBe(true);
    expect(redirectSignedBy(location, old!.certificate.pem)).toBe(false);
    // The replaced key stays published for IdPs that have not read the metadata again.
    expect(published(await metadataOf(t), "signing")).toEqual([base64Of(staged.certificate.pem), base64Of(old!.certificate.pem)]);
    expect((await keys("signing")).map((key) => [key.id, key.status])).toEqual([[staged.id, "active"], [old!.id, "previous"]]);

    const retired = (await t.api().post(`/api/v1/saml/sp-keys/signing/${old!.id}/retire`).expect(200)).body as Key;
    expect(retired).toMatchObject({ id: old!.id, status: "retired", retiredAt: expect.any(String) });
    expect(published(await metadataOf(t), "signing")).toEqual([base64Of(staged.certificate.pem)]);
    expect((await keys("signing")).map((key) => key.id)).toEqual([staged.id]);

    // The IdP, given the new metadata, verifies the AuthnRequest and its user signs in.
    const metadata = await metadataOf(t);
    const form = await tenant.idp.answer(await startSamlLogin(t, tenant.slug), metadata, { user: { nameId: "rolled@corp.example" } });
    const res = await postToAcs(t, tenant.slug, form);
    expect(await signedInEmail(res, sessionCookieOf(res))).toBe("rolled@corp.example");

    const audited = await t.container.infra.db.auditEvent.findMany({ where: { targetId: { in: [staged.id, old!.id] } }, orderBy: { id: "asc" } });
    expect(audited.map((event) => [event.type, event.targetId, (event.data as { purpose?: string }).purpose])).toEqual([
      ["signing_key.staged", staged.id, "saml-sp"],
      ["signing_key.activated", staged.id, "saml-sp"],
      ["signing_key.retired", old!.id, "saml-sp"],
    ]);
    expect((audited[1]!.data as { replaced?: string }).replaced).toBe(old!.id);
  });
});

describe("encryption key rollover", () => {
  it("decrypts with the next key before activation and with the previous key after it, until that key is retired", async () => {
    const [old] = await keys("encryption");
    const staged = (await t.api().post("/api/v1/saml/sp-keys/encryption").expect(201)).body as Key;
    // The active certificate stays first: IdPs that take the first encryption certificate keep using it.
    expect(published(await metadataOf(t), "encryption")).toEqual([base64Of(old!.certificate.pem), base64Of(staged.certificate.pem)]);
    // An IdP that already picked the staged certificate is understood.
    let res = await signsInWithAssertionEncryptedTo(staged.certificate.pem, "to-next@corp.example");
    expect(res.status).toBe(303);

    await t.api().post(`/api/v1/saml/sp-keys/encryption/${staged.id}/activate`).expect(200);
    expect(published(await metadataOf(t), "encryption")).toEqual([base64Of(staged.certificate.pem), base64Of(old!.certificate.pem)]);
    // An IdP still encrypting to the previous certificate is understood too, until it is retired.
    res = await signsInWithAssertionEncryptedTo(old!.certificate.pem, "to-previous@corp.example");
    expect(res.status).toBe(303);
    res = await signsInWithAssertionEncryptedTo(staged.certificate.pem, "to-active@corp.example");
    expect(res.status).toBe(303);

    await t.api().post(`/api/v1/saml/sp-keys/encryption/${old!.id}/retire`).expect(200);
    expect(published(await metadataOf(t), "encryption")).toEqual([base64Of(staged.certificate.pem)]);
    const form = await idpAnswer(t, await current(), { user: { nameId: "to-retired@corp.example" }, encrypt: { certificate: old!.certificate.pem } });
    const refused = await postToAcs(t, tenant.slug, form);
    expect(refused.status).toBe(400);
    expect(sessionCookieOf(refused)).toBeUndefined();
    const failure = await t.container.infra.db.auditEvent.findFirst({ where: { type: "sso.login.failed", tenantId: tenant.tenantId }, orderBy: { id: "desc" } });
    expect((failure?.data as { reason?: string }).reason).toBe("decryption_failed");
  });
});

describe("refused key changes", () => {
  it("refuses to retire the active key, to stage a second next key, to revive a retired key, and unknown keys or uses", async () => {
    const [active] = await keys("signing");
    const retire = await t.api().post(`/api/v1/saml/sp-keys/signing/${active!.id}/retire`).expect(409);
    expect(retire.body.code).toBe("conflict");

    const staged = (await t.api().post("/api/v1/saml/sp-keys/signing").expect(201)).body as Key;
    expect((await t.api().post("/api/v1/saml/sp-keys/signing").expect(409)).body.code).toBe("conflict");
    // A key of the other use is not found under this one.
    const [encryption] = await keys("encryption");
    await t.api().post(`/api/v1/saml/sp-keys/signing/${encryption!.id}/activate`).expect(404);
    await t.api().post("/api/v1/saml/sp-keys/signing/not-a-uuid/activate").expect(404);
    await t.api().post("/api/v1/saml/sp-keys/signing/0190c0de-0000-7000-8000-000000000000/retire").expect(404);
    await t.api().get("/api/v1/saml/sp-keys/decryption").expect(404);

    await t.api().post(`/api/v1/saml/sp-keys/signing/${staged.id}/retire`).expect(200);
    expect((await t.api().post(`/api/v1/saml/sp-keys/signing/${staged.id}/activate`).expect(409)).body.code).toBe("conflict");
    // Nothing of the refused changes happened: the same key is active, alone.
    expect((await keys("signing")).map((key) => [key.id, key.status])).toEqual([[active!.id, "active"]]);
  });

  it("lets only an unbound key with api_keys:write see or change the keys", async () => {
    // A tenant's support key tries to swap the deployment's SP key, which every tenant's IdPs trust.
    const bound = (await t.api().post("/api/v1/api-keys").send({ name: "tenant-keys", scopes: ["api_keys:write"], tenant: tenant.slug }).expect(201)).body.key as string;
    const reader = (await t.api().post("/api/v1/api-keys").send({ name: "reader", scopes: ["tenants:read"] }).expect(201)).body.key as string;
    const before = await keys("signing");
    for (const [key, code] of [[bound, "forbidden"], [reader, "insufficient_scope"]] as const) {
      expect((await checkedAgent(t.app, key).get("/api/v1/saml/sp-keys/signing").expect(403)).body.code).toBe(code);
      expect((await checkedAgent(t.app, key).post("/api/v1/saml/sp-keys/signing").expect(403)).body.code).toBe(code);
      expect((await checkedAgent(t.app, key).post(`/api/v1/saml/sp-keys/signing/${before[0]!.id}/retire`).expect(403)).body.code).toBe(code);
    }
    expect(await keys("signing")).toEqual(before);
  });

  it("rolls back: a previous key can be made active again", async () => {
    const [first] = await keys("signing");
    const staged = (await t.api().post("/api/v1/saml/sp-keys/signing").expect(201)).body as Key;
    await t.api().post(`/api/v1/saml/sp-keys/signing/${staged.id}/activate`).expect(200);
    await t.api().post(`/api/v1/saml/sp-keys/signing/${first!.id}/activate`).expect(200);
    expect((await keys("signing")).map((key) => [key.id, key.status])).toEqual([[first!.id, "active"], [staged.id, "previous"]]);
    expect(redirectSignedBy(await startSamlLogin(t, tenant.slug), first!.certificate.pem)).toBe(true);
    await t.api().post(`/api/v1/saml/sp-keys/signing/${staged.id}/retire`).expect(200);
  });
});

describe("another instance", () => {
  it("follows a rollover made elsewhere within its refresh interval", async () => {
    const other = await startTestApp(env, clock);
    try {
      const [active] = await keys("signing", other);
      expect(redirectSignedBy(await startSamlLogin(other, tenant.slug), active!.certificate.pem)).toBe(true);
      const staged = (await t.api().post("/api/v1/saml/sp-keys/signing").expect(201)).body as Key;
      await t.api().post(`/api/v1/saml/sp-keys/signing/${staged.id}/activate`).expect(200);
      // Until its copy is due for a refresh, the other instance signs with the key it read: still published.
      expect(redirectSignedBy(await startSamlLogin(other, tenant.slug), active!.certificate.pem)).toBe(true);
      clock.advance(SP_KEY_REFRESH_MS + 1000);
      expect(redirectSignedBy(await startSamlLogin(other, tenant.slug), staged.certificate.pem)).toBe(true);
      expect(published(await metadataOf(other), "signing")).toEqual([base64Of(staged.certificate.pem), base64Of(active!.certificate.pem)]);
      await t.api().post(`/api/v1/saml/sp-keys/signing/${active!.id}/retire`).expect(200);
    } finally {
      await other.close();
    }
  });
});
