import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as otplib from "otplib";
import { ManualClock } from "../../../src/platform/clock";
import { SecretBox } from "../../../src/platform/crypto";
import { MemoryKvStore } from "../../../src/platform/kv/memory-store";
import { createTotpVerifier, generateTotpSecret, totpSecretContext, totpUri } from "../../../src/mfa/totp";

jest.mock("otplib", () => {
  const actual = jest.requireActual<typeof import("otplib")>("otplib");
  return { ...actual, verify: jest.fn(actual.verify) };
});

const START = new Date("2026-11-27T10:00:10Z");
const STEP_MS = 30_000;

/** The code an independent implementation (OATH Toolkit) shows at `at`. */
function oathtoolCode(secret: string, at: Date): string {
  const now = `@${Math.floor(at.getTime() / 1000)}`;
  return execFileSync("oathtool", ["--totp", "-b", "--now", now, secret], { encoding: "utf8" }).trim();
}

function setup() {
  const clock = new ManualClock(START);
  const kv = new MemoryKvStore({ now: () => clock.now().getTime() });
  return { clock, kv, verifier: createTotpVerifier({ kv, clock }) };
}

describe("TOTP secrets and URIs", () => {
  it("generates distinct base32 secrets of 160 bits", async () => {
    const secrets = await Promise.all([1, 2, 3, 4, 5].map(() => generateTotpSecret()));
    for (const secret of secrets) expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(new Set(secrets).size).toBe(secrets.length);
  });

  it("builds an otpauth URI with every parameter, encoded", () => {
    const uri = totpUri({ secret: "JBSWY3DPEHPK3PXP", accountName: "ana+ops@example.com", issuer: "Gatehouse: Acme & Co" });
    expect(uri).toBe(
      "otpauth://totp/Gatehouse%3A%20Acme%20%26%20Co:ana%2Bops%40example.com" +
        "?secret=JBSWY3DPEHPK3PXP&issuer=Gatehouse%3A%20Acme%20%26%20Co&algorithm=SHA1&digits=6&period=30",
    );
    const parsed = new URL(uri);
    expect(parsed.searchParams.get("issuer")).toBe("Gatehouse: Acme & Co");
  });

  it("binds a sealed secret to its user", async () => {
    const box = new SecretBox([{ id: "k1", key: randomBytes(32) }]);
    const sealed = box.seal(await generateTotpSecret(), totpSecretContext("user-a"));
    expect(() => box.open(sealed, totpSecretContext("user-b"))).toThrow();
    expect(box.open(sealed, totpSecretContext("user-a"))).toMatch(/^[A-Z2-7]{32}$/);
  });
});

describe("TOTP verification", () => {
  it("accepts the code oathtool shows now", async () => {
    const { verifier, clock } = setup();
    const secret = await generateTotpSecret();
    const result = await verifier.verify("u1", secret, oathtoolCode(secret, clock.now()));
    expect(result).toEqual({ ok: true, step: Math.floor(clock.now().getTime() / STEP_MS) });
  });

  it.each([-1, 1])("accepts a code %i step away", async (offset) => {
    const { verifier, clock } = setup();
    const secret = await generateTotpSecret();
    const code = oathtoolCode(secret, new Date(clock.now().getTime() + offset * STEP_MS));
    expect((await verifier.verify("u1", secret, code)).ok).toBe(true);
  });

  it.each([-2, 2])("refuses a code %i steps away", async (offset) => {
    const { verifier, clock } = setup();
    const secret = await generateTotpSecret();
    const code = oathtoolCode(secret, new Date(clock.now().getTime() + offset * STEP_MS));
    // A different code could collide by chance; the point is that this one is out of the window.
    if (code === oathtoolCode(secret, clock.now())) return;
    expect(await verifier.verify("u1", secret, code)).toEqual({ ok: false, reason: "invalid" });
  });

  it("follows the injected clock", async () => {
    const { verifier, clock } = setup();
    const secret = await generateTotpSecret();
    const code = oathtoolCode(secret, clock.now());
    clock.advance(3 * STEP_MS);
    expect(await verifier.verify("u1", secret, code)).toEqual({ ok: false, reason: "invalid" });
  });

  it.each(["", "12345", "1234567", "12345a", " 123456", "123456 ", "１２３４５６", "-12345", "12 345"])(
    "refuses %p without running otplib",
    async (input) => {
      const { verifier } = setup();
      const spy = jest.mocked(otplib.verify);
      spy.mockClear();
      expect(await verifier.verify("u1", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", input)).toEqual({ ok: false, reason: "invalid" });
      expect(spy).not.toHaveBeenCalled();
    },
  );

  it("keeps the last accepted step for a few steps only", async () => {
    const { verifier, kv, clock } = setup();
    const secret = await generateTotpSecret();
    await verifier.verify("u1", secret, oathtoolCode(secret, clock.now()));
    const ttl = await kv.ttl("totp:last-step:u1");
    expect(ttl).toBeGreaterThanOrEqual(3 * STEP_MS);
    expect(ttl).toBeLessThanOrEqual(4 * STEP_MS);
  });
});
