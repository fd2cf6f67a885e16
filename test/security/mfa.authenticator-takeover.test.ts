// Attack: someone holding a stolen session (cookie theft, an unlocked laptop) but not the second factor puts their own authenticator app on the account, turning a session that will end into lasting control of the second factor.
import { oathtoolCode } from "../support/browser";
import { ManualClock, startTestApp, type TestApp } from "../support/harness";
import { CookieBrowser, createTenant, createUser, enrolTotp, PASSWORD, signInWithTotp, STEP_MS, wrongTotpCode, type LoginForm } from "../support/login-helpers";

// The QR code plays no part here, and drawing it takes most of a second under jest.
jest.mock("../../src/mfa/qr", () => ({ totpQrDataUri: async () => "data:image/png;base64," }));

let t: TestApp;
let clock: ManualClock;
let form: LoginForm;
let userId: string;
let secret: string;
let recoveryCodes: string[];
let victim: CookieBrowser;
let stolen: CookieBrowser;

beforeAll(async () => {
  clock = new ManualClock(new Date("2026-11-28T16:00:00Z"));
  t = await startTestApp({}, clock);
  const slug = await createTenant(t);
  form = { tenant: slug, email: "victim@takeover.example", password: PASSWORD };
  userId = await createUser(t, slug, { email: form.email });
  ({ browser: victim, secret, recoveryCodes } = await enrolTotp(t, form, clock));
  await victim.get("/account");
  clock.advance(STEP_MS);
  // The attacker's copy: another session of the same user, taken whole.
  stolen = new CookieBrowser(t.app);
  expect((await signInWithTotp(stolen, form, secret, clock)).status).toBe(303);
  await stolen.get("/account");
});
afterAll(async () => {
  await t.close();
});
beforeEach(() => {
  clock.advance(STEP_MS);
});

const sealedSecret = async () => (await t.container.infra.db.user.findUniqueOrThrow({ where: { id: userId } })).totpSecret;
const ATTACKER_SECRET_CODE = "123456";

describe("a stolen session cannot replace the authenticator app", () => {
  it("cannot skip the proof: the new app's code alone is refused", async () => {
    const before = await sealedSecret();
    const res = await stolen.post("/account/authenticator", { code: ATTACKER_SECRET_CODE });
    expect(res.status).toBe(400);
    expect(res.text).not.toContain('id="totp-secret"');
    expect(await sealedSecret()).toBe(before);
  });

  it.each([
    ["no code", () => ""],
    ["a guessed code", () => wrongTotpCode(secret, clock.now())],
  ])("cannot prove with %s", async (_name, code) => {
    const res = await stolen.post("/account/authenticator/verify", { code: code() });
    expect(res.status).toBe(401);
    expect((await stolen.get("/account/authenticator")).text).not.toContain('id="totp-secret"');
  });

  it("cannot prove with a recovery code that was already spent", async () => {
    const spender = new CookieBrowser(t.app);
    await spender.get(`/us/login?tenant=${form.tenant}`);
    await spender.post("/us/login", form);
    await spender.get("/us/login/mfa");
    expect((await spender.post("/us/login/mfa", { code: recoveryCodes[0]! })).status).toBe(303);
    expect((await stolen.post("/account/authenticator/verify", { code: recoveryCodes[0]! })).status).toBe(401);
  });

  it("cannot ride on the victim's own proof, made in the victim's session", async () => {
    const proved = await victim.post("/account/authenticator/verify", { code: oathtoolCode(secret, clock.now()) });
    expect(proved.status).toBe(303);
    const before = await sealedSecret();
    // The stolen session is shown the proof form, not the victim's new secret, and cannot confirm.
    expect((await stolen.get("/account/authenticator")).text).not.toContain('id="totp-secret"');
    expect((await stolen.post("/account/authenticator", { code: ATTACKER_SECRET_CODE })).status).toBe(400);
    expect(await sealedSecret()).toBe(before);
  });

  it("cannot use a cross-site form, even with a valid code", async () => {
    const before = await sealedSecret();
    for (const path of ["/account/authenticator/verify", "/account/authenticator"]) {
      const res = await victim.post(path, { code: oathtoolCode(secret, clock.now()) }, { withCsrf: false });
      expect({ path, status: res.status }).toEqual({ path, status: 403 });
    }
    expect(await sealedSecret()).toBe(before);
  });

  it("cannot guess without limit: proofs count on the login's code-step throttle", async () => {
    let res = await stolen.post("/account/authenticator/verify", { code: wrongTotpCode(secret, clock.now()) });
    for (let i = 0; i < 15 && res.status === 401; i += 1) res = await stolen.post("/account/authenticator/verify", { code: wrongTotpCode(secret, clock.now()) });
    expect(res.status).toBe(429);
    expect(Number(res.headers["retry-after"])).toBeGreaterThan(0);
    expect((await stolen.post("/account/authenticator/verify", { code: oathtoolCode(secret, clock.now()) })).status).toBe(429);
    expect(await t.container.infra.db.mailOutbox.count({ where: { to: form.email, kind: "mfa_replaced" } })).toBe(0);
  });
});
