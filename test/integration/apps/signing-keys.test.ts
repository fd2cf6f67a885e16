// The OpenID provider signs with keys it made itself, stored sealed in PostgreSQL. Rotation through the admin
// API publishes the next key before it signs, and keeps the replaced one published until its tokens expire.
import { DEFAULT_KEY_SCHEDULE } from "../../../src/apps/provider-keys";
import { loginThroughApp, redeem, startProductAppFixture, userWithTotp, type ProductAppFixture } from "../../support/product-app-login";
import { authorizationRequest, followWithinGatehouse, verifyWithJwks } from "../../support/relying-party";

let f: ProductAppFixture;

beforeAll(async () => {
  f = await startProductAppFixture();
});
afterAll(() => f.close());

const kidOf = (jwt: string) => (JSON.parse(Buffer.from(jwt.split(".")[0]!, "base64url").toString("utf8")) as { kid: string }).kid;
const publishedKids = async () => ((await (await fetch(`${f.t.publicUrl}/oidc/jwks`)).json()) as { keys: { kid: string; d?: string }[] }).keys;

it("rotates: next key published at once, signing after the delay, the old one published until its tokens expire", async () => {
  const { app, config } = await f.app();
  const user = await userWithTotp(f.t, f.clock);
  const { browser, request, callback } = await loginThroughApp(f.t, config, app, user, f.clock);
  const before = (await redeem(config, request, callback)).id_token!;
  const oldKid = kidOf(before);
  const listed = await f.t.api().get("/api/v1/oidc/signing-keys").expect(200);
  expect(listed.body.items).toEqual([expect.objectContaining({ id: oldKid, status: "signing", algorithm: "RS256", retiredAt: null })]);

  const rotated = await f.t.api().post("/api/v1/oidc/signing-keys/rotate").expect(201);
  const newKid = rotated.body.id as string;
  expect(rotated.body.status).toBe("next");
  expect((await publishedKids()).map((key) => key.kid).sort()).toEqual([newKid, oldKid].sort());
  expect((await publishedKids()).every((key) => key.d === undefined)).toBe(true);

  const signWith = async () => {
    const next = await authorizationRequest(config, app);
    const { leftTo } = await followWithinGatehouse(browser, f.t.publicUrl, next.url);
    return (await redeem(config, next, leftTo!)).id_token!;
  };
  expect(kidOf(await signWith())).toBe(oldKid);

  f.clock.advance(DEFAULT_KEY_SCHEDULE.activationDelayMs + 1000);
  const after = await signWith();
  expect(kidOf(after)).toBe(newKid);
  // Both verify against the published set: apps holding the old token are unaffected.
  await verifyWithJwks(f.t.publicUrl, before, app.clientId);
  await verifyWithJwks(f.t.publicUrl, after, app.clientId);
  const states = (await f.t.api().get("/api/v1/oidc/signing-keys").expect(200)).body.items as { id: string; status: string; publishedUntil: string | null }[];
  expect(states.find((key) => key.id === newKid)?.status).toBe("signing");
  expect(states.find((key) => key.id === oldKid)).toMatchObject({ status: "retired", publishedUntil: expect.any(String) });

  f.clock.advance(DEFAULT_KEY_SCHEDULE.retentionMs);
  expect((await publishedKids()).map((key) => key.kid)).toEqual([newKid]);
  const row = await f.t.container.infra.db.signingKey.findUniqueOrThrow({ where: { id: oldKid } });
  expect(row.purpose).toBe("oidc-provider");
  expect(row.privateKeySealed).toMatch(/^v1\./);
  expect(await f.t.container.infra.db.auditEvent.count({ where: { type: "signing_key.rotated", targetId: newKid } })).toBe(1);
});
