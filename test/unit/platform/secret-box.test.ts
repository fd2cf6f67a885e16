import { randomBytes } from "node:crypto";
import { constantTimeEqual, randomToken, SecretBox, sha256Hex } from "../../../src/platform/crypto";

const keyNamed = (id: string) => ({ id, key: randomBytes(32) });

describe("SecretBox (AES-256-GCM with key ids)", () => {
  it("round-trips and never contains the plaintext", () => {
    const box = new SecretBox([keyNamed("k1")]);
    const sealed = box.seal("JBSWY3DPEHPK3PXP", "totp:user-1");
    expect(sealed.startsWith("v1.k1.")).toBe(true);
    expect(sealed).not.toContain("JBSWY3DPEHPK3PXP");
    expect(box.open(sealed, "totp:user-1")).toBe("JBSWY3DPEHPK3PXP");
  });

  it("uses a fresh IV each time", () => {
    const box = new SecretBox([keyNamed("k1")]);
    expect(box.seal("same")).not.toBe(box.seal("same"));
  });

  it("refuses a tampered ciphertext and a value moved to another context", () => {
    const box = new SecretBox([keyNamed("k1")]);
    const sealed = box.seal("secret", "user-a");
    const parts = sealed.split(".");
    const body = Buffer.from(parts[3]!, "base64url");
    body[0] = body[0]! ^ 1;
    parts[3] = body.toString("base64url");
    expect(() => box.open(parts.join("."), "user-a")).toThrow();
    expect(() => box.open(sealed, "user-b")).toThrow();
  });

  it("rotates keys: new values use the first key, old values still open", () => {
    const oldKey = keyNamed("old");
    const before = new SecretBox([oldKey]).seal("kept");
    const rotated = new SecretBox([keyNamed("new"), oldKey]);
    expect(rotated.open(before)).toBe("kept");
    expect(rotated.seal("x").startsWith("v1.new.")).toBe(true);
    expect(() => new SecretBox([keyNamed("other")]).open(before)).toThrow(/unknown/);
  });
});

describe("tokens and hashes", () => {
  it("random tokens carry 256 bits by default", () => {
    const token = randomToken();
    expect(Buffer.from(token, "base64url")).toHaveLength(32);
    expect(randomToken()).not.toBe(token);
  });

  it("sha256Hex matches a known vector", () => {
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("constantTimeEqual compares exactly", () => {
    expect(constantTimeEqual("abc", "abc")).toBe(true);
    expect(constantTimeEqual("abc", "abd")).toBe(false);
    expect(constantTimeEqual("abc", "abcd")).toBe(false);
  });
});
