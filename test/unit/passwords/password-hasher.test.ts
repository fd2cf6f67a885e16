import { randomBytes } from "node:crypto";
import bcrypt from "bcrypt";
import { createPasswordHasher } from "../../../src/passwords/password-hasher";

const keyNamed = (id: string) => ({ id, key: randomBytes(32) });
const k1 = keyNamed("k1");
const k2 = keyNamed("k2");
const hasher = createPasswordHasher({ cost: 4, pepperKeys: [k1] });

// 80 ASCII bytes in common, then a different tail: plain bcrypt would see them as one password.
const sharedPrefix = "correct horse battery staple ".repeat(3).slice(0, 80);
const longA = `${sharedPrefix}-tail-AAAAAAAAAAAAAA`;
const longB = `${sharedPrefix}-tail-BBBBBBBBBBBBBB`;

describe("password hasher", () => {
  it("round-trips and refuses a wrong password", async () => {
    const stored = await hasher.hash("s3cret-Passw0rd");
    expect(stored).toMatch(/^\$2b\$04\$/);
    expect(stored).not.toContain("s3cret");
    expect(await hasher.verify("s3cret-Passw0rd", stored)).toBe(true);
    expect(await hasher.verify("s3cret-Passw0rd!", stored)).toBe(false);
    expect(await hasher.verify("", stored)).toBe(false);
  });

  it("does not truncate a 100-byte password: a shared 80-byte prefix is not enough", async () => {
    expect(Buffer.byteLength(longA)).toBe(100);
    // The threat is real: plain bcrypt accepts the other password.
    const plain = await bcrypt.hash(longA, 4);
    expect(await bcrypt.compare(longB, plain)).toBe(true);

    const stored = await hasher.hash(longA);
    expect(await hasher.verify(longA, stored)).toBe(true);
    expect(await hasher.verify(longB, stored)).toBe(false);
    expect(await hasher.verify(sharedPrefix.slice(0, 72), stored)).toBe(false);
  });

  it("stores long passwords as hmac-<keyId>$<bcrypt> and short ones as plain bcrypt", async () => {
    expect(await hasher.hash(longA)).toMatch(/^hmac-k1\$\$2b\$04\$[./A-Za-z0-9]{53}$/);
    expect(await hasher.hash("a".repeat(72))).toMatch(/^\$2b\$04\$/);
  });

  it("refuses a longer input against a plain hash of its first 72 bytes", async () => {
    const exactly72 = "x".repeat(72);
    const stored = await hasher.hash(exactly72);
    expect(await hasher.verify(exactly72, stored)).toBe(true);
    expect(await hasher.verify(`${exactly72}y`, stored)).toBe(false);
  });

  it("keeps verifying after key rotation and asks for a rehash", async () => {
    const stored = await hasher.hash(longA);
    const rotated = createPasswordHasher({ cost: 4, pepperKeys: [k2, k1] });
    expect(await rotated.verify(longA, stored)).toBe(true);
    expect(await rotated.verify(longB, stored)).toBe(false);
    expect(rotated.needsRehash(stored)).toBe(true);

    const rehashed = await rotated.hash(longA);
    expect(rehashed.startsWith("hmac-k2$")).toBe(true);
    expect(rotated.needsRehash(rehashed)).toBe(false);
    // Short passwords use no key, so rotation leaves them alone.
    expect(rotated.needsRehash(await hasher.hash("short one"))).toBe(false);
  });

  it("refuses a hash whose key is no longer listed", async () => {
    const stored = await hasher.hash(longA);
    const withoutK1 = createPasswordHasher({ cost: 4, pepperKeys: [k2] });
    expect(await withoutK1.verify(longA, stored)).toBe(false);
  });

  it("asks for a rehash when the cost changes", async () => {
    const stored = await hasher.hash("cost test");
    expect(hasher.needsRehash(stored)).toBe(false);
    expect(createPasswordHasher({ cost: 5, pepperKeys: [k1] }).needsRehash(stored)).toBe(true);
    expect(hasher.needsRehash("not a hash")).toBe(true);
  });

  it("treats NFKC-equivalent input as the same password", async () => {
    const stored = await hasher.hash("\uFB01ne print"); // "ﬁ" ligature
    expect(await hasher.verify("fine print", stored)).toBe(true);
    const full = await hasher.hash("ｐａｓｓｗｏｒｄ１"); // full-width forms
    expect(await hasher.verify("password1", full)).toBe(true);
  });

  it("handles Unicode and emoji, short and long", async () => {
    const short = "pässwörd 🔐🦄 日本語";
    expect(await hasher.verify(short, await hasher.hash(short))).toBe(true);
    const long = "🔐".repeat(25); // 100 bytes
    const other = `${"🔐".repeat(24)}🦄`;
    const stored = await hasher.hash(long);
    expect(stored.startsWith("hmac-k1$")).toBe(true);
    expect(await hasher.verify(long, stored)).toBe(true);
    expect(await hasher.verify(other, stored)).toBe(false);
  });

  it("verifyDummy resolves false after one real bcrypt compare at the configured cost", async () => {
    const fresh = createPasswordHasher({ cost: 4, pepperKeys: [k1] });
    const hashSpy = jest.spyOn(bcrypt, "hash");
    const compareSpy = jest.spyOn(bcrypt, "compare");
    try {
      await expect(fresh.verifyDummy("anything")).resolves.toBe(false);
      await expect(fresh.verifyDummy(longA)).resolves.toBe(false);
      // The dummy hash is made once, lazily; each call then costs what a real verification costs.
      expect(hashSpy).toHaveBeenCalledTimes(1);
      expect(compareSpy).toHaveBeenCalledTimes(2);
      const dummyHash = compareSpy.mock.calls[0]![1] as string;
      expect(bcrypt.getRounds(dummyHash)).toBe(4);
      // The dummy hash is of nothing a user could type.
      expect(await fresh.verify("anything", dummyHash)).toBe(false);
    } finally {
      hashSpy.mockRestore();
      compareSpy.mockRestore();
    }
  });

  it("refuses bad configuration", () => {
    expect(() => createPasswordHasher({ cost: 4, pepperKeys: [] })).toThrow(/pepper key/);
    expect(() => createPasswordHasher({ cost: 3, pepperKeys: [k1] })).toThrow(/cost/);
  });
});
