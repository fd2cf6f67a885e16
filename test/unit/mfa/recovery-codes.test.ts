import { randomBytes } from "node:crypto";
import { generateRecoveryCodes, hashRecoveryCode, normaliseRecoveryCode } from "../../../src/mfa/recovery-codes";

const pepper = { id: "k1", key: randomBytes(32) };
const CODE_FORMAT = /^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$/;

describe("recovery codes", () => {
  it("generates 10 distinct codes in the xxxxx-xxxxx format by default", () => {
    const codes = generateRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(CODE_FORMAT);
    expect(generateRecoveryCodes(3)).toHaveLength(3);
  });

  it("never uses the look-alike letters i, l, o or u", () => {
    const symbols = generateRecoveryCodes(200).join("").replace(/-/g, "");
    expect(symbols).not.toMatch(/[ilou]/);
  });

  it("uses all 32 symbols about equally (no bias)", () => {
    const symbols = generateRecoveryCodes(2000).join("").replace(/-/g, "");
    const counts = new Map<string, number>();
    for (const s of symbols) counts.set(s, (counts.get(s) ?? 0) + 1);
    expect(counts.size).toBe(32);
    // 20,000 symbols: expected 625 each, standard deviation ~24.6; 6σ keeps this test stable.
    for (const n of counts.values()) expect(Math.abs(n - 625)).toBeLessThan(150);
  });

  it("matches what a user types: case, dashes, spaces and look-alikes do not matter", () => {
    const code = "7k2mq-x9d0p";
    const stored = hashRecoveryCode(code, pepper);
    expect(stored).toMatch(/^[0-9a-f]{64}$/);
    for (const typed of ["7K2MQ-X9D0P", "7k2mqx9d0p", " 7k2mq x9d0p ", "7k2mq – x9d0p", "7k2mq-x9dOp", "7K2MQ\tX9DOP"]) {
      expect(hashRecoveryCode(typed, pepper)).toBe(stored);
    }
    expect(normaliseRecoveryCode("AB1L-I0O")).toBe("ab11100");
    expect(hashRecoveryCode("7k2mq-x9d0q", pepper)).not.toBe(stored);
  });

  it("gives a different hash under a different pepper", () => {
    const other = { id: "k2", key: randomBytes(32) };
    expect(hashRecoveryCode("7k2mq-x9d0p", other)).not.toBe(hashRecoveryCode("7k2mq-x9d0p", pepper));
  });
});
