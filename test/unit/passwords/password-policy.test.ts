import type { BreachChecker, BreachCheckResult } from "../../../src/passwords/breach-check";
import { commonPasswordCount, loadCommonPasswords } from "../../../src/passwords/common-passwords";
import {
  createPasswordPolicy,
  normalisePassword,
  type PasswordContext,
  type PolicyResult,
} from "../../../src/passwords/password-policy";

const commonPasswords = new Set(["password", "dragon", "qwerty123456", "sunshine"]);
const policy = createPasswordPolicy({ minLength: 12, commonPasswords });

/** A breach checker that answers from a script and records what it was asked. */
function scriptedChecker(answer: BreachCheckResult, onUnavailable: "allow" | "refuse" = "allow") {
  const asked: string[] = [];
  const checker: BreachChecker = {
    onUnavailable,
    check: async (password) => {
      asked.push(password);
      return answer;
    },
  };
  return { checker, asked };
}

const codes = (result: PolicyResult) => (result.ok ? [] : result.reasons.map((r) => r.code));

describe("normalisePassword", () => {
  it("maps compatibility forms to one spelling (NFKC)", () => {
    expect(normalisePassword("ｃｏｒｒｅｃｔ ｈｏｒｓｅ")).toBe("correct horse");
    expect(normalisePassword("ﬁre")).toBe("fire");
    expect(normalisePassword("cafe\u0301")).toBe("café");
    expect(normalisePassword("already plain")).toBe("already plain");
  });
});

describe("password policy: length", () => {
  it("accepts the minimum and refuses one less, with the reason", async () => {
    expect(await policy.check("abcdefghijkl")).toEqual({ ok: true, normalised: "abcdefghijkl" });
    const result = await policy.check("abcdefghijk");
    expect(result).toEqual({ ok: false, reasons: [{ code: "too_short", message: expect.stringContaining("at least 12") }] });
  });

  it("counts code points, so an emoji is one character", async () => {
    expect("😀".repeat(11).length).toBe(22);
    expect(codes(await policy.check("😀".repeat(11)))).toEqual(["too_short"]);
    expect((await policy.check("😀".repeat(12))).ok).toBe(true);
  });

  it("counts after NFKC: a combining accent joins its letter, a ligature becomes several letters", async () => {
    expect(codes(await policy.check("e\u0301".repeat(11)))).toEqual(["too_short"]);
    expect(await policy.check("ﬃ".repeat(4))).toEqual({ ok: true, normalised: "ffi".repeat(4) });
  });

  it("accepts 256 code points and refuses 257, without truncating", async () => {
    const long = "correct horse battery staple ".repeat(9).slice(0, 256);
    expect(await policy.check(long)).toEqual({ ok: true, normalised: long });
    expect(codes(await policy.check(`${long}x`))).toEqual(["too_long"]);
    expect((await policy.check("😀".repeat(256))).ok).toBe(true);
    expect(codes(await policy.check("😀".repeat(257)))).toEqual(["too_long"]);
  });

  it("never lets the minimum go below 8, and enforces a configured 8", async () => {
    expect(() => createPasswordPolicy({ minLength: 7, commonPasswords })).toThrow(/minLength/);
    expect(() => createPasswordPolicy({ minLength: 0, commonPasswords })).toThrow(RangeError);
    expect(() => createPasswordPolicy({ minLength: 10.5, commonPasswords })).toThrow(/minLength/);
    expect(() => createPasswordPolicy({ minLength: 257, commonPasswords })).toThrow(/minLength/);
    const eight = createPasswordPolicy({ minLength: 8, commonPasswords });
    expect((await eight.check("zx7!kq2m")).ok).toBe(true);
    expect(codes(await eight.check("zx7!kq2"))).toEqual(["too_short"]);
  });
});

describe("password policy: common passwords", () => {
  it("refuses a listed password whatever its case or width", async () => {
    expect(codes(await policy.check("QWERTY123456"))).toEqual(["common"]);
    expect(codes(await policy.check("ｑｗｅｒｔｙ１２３４５６"))).toEqual(["common"]);
  });

  it("refuses a listed password with digits or symbols appended", async () => {
    expect(codes(await policy.check("Sunshine2024!"))).toEqual(["common"]);
    expect(codes(await policy.check("dragon-1234567"))).toEqual(["common"]);
  });

  it("accepts a password that merely contains a listed word elsewhere", async () => {
    expect((await policy.check("my dragon sleeps at noon")).ok).toBe(true);
  });

  it("ships at least 10,000 entries, loads once, lower-case", () => {
    const list = loadCommonPasswords();
    expect(list.size).toBeGreaterThanOrEqual(10_000);
    expect(commonPasswordCount()).toBe(list.size);
    expect(loadCommonPasswords()).toBe(list);
    expect([...list].every((entry) => entry === entry.toLowerCase())).toBe(true);
    expect(list.has("password")).toBe(true);
  });

  it("refuses entries of the shipped list", async () => {
    const real = createPasswordPolicy({ minLength: 12, commonPasswords: loadCommonPasswords() });
    expect(codes(await real.check("qwerty123456"))).toEqual(["common"]);
    expect(codes(await real.check("1q2w3e4r5t6y"))).toEqual(["common"]);
    expect(codes(await real.check("Iloveyou2024!"))).toEqual(["common"]);
    expect((await real.check("violet otter juggles quietly")).ok).toBe(true);
  });
});

describe("password policy: context", () => {
  const context: PasswordContext = { email: "Jane.Doe@example.com", tenantName: "Acme Corp", tenantSlug: "acme-docs" };

  it.each([
    ["the email local part", "my-jane.doe-password"],
    ["the local part without its dot", "JANEDOE-forever"],
    ["one name from the local part", "xylophone-jane7"],
    ["the tenant name", "acme corp rules forever"],
    ["the tenant name, spaces removed", "AcmeCorp2024!!"],
    ["the tenant slug", "login-to-acme-docs"],
    ["the tenant slug, hyphen removed", "acmedocs-rocks"],
    ["the tenant name, spelled with other punctuation", "Acme-Corp_2024!"],
  ])("refuses a password containing %s", async (_what, candidate) => {
    expect(codes(await policy.check(candidate, context))).toEqual(["context"]);
  });

  it("says which context it matched", async () => {
    const result = await policy.check("janedoe-at-acmecorp", context);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reasons[0]!.message).toMatch(/email address and your organisation's name/);
  });

  it("ignores context terms shorter than 4 characters", async () => {
    const shortOnes: PasswordContext = { email: "bo@example.com", tenantName: "IBM", tenantSlug: "ibm" };
    expect((await policy.check("bo-and-ibm-were-here", shortOnes)).ok).toBe(true);
  });

  it("ignores a piece of the local part shorter than 4 characters (doe)", async () => {
    expect((await policy.check("a doe-eyed violinist", context)).ok).toBe(true);
  });

  it("reports common and context together", async () => {
    expect(codes(await policy.check("sunshine2024", { email: "sunshine@example.com" }))).toEqual(["common", "context"]);
  });
});

describe("password policy: current password", () => {
  it("refuses the current password, compared in normalised form", async () => {
    const seen: string[] = [];
    const verifyCurrent = async (pw: string) => {
      seen.push(pw);
      return pw === "correct horse battery";
    };
    expect(codes(await policy.check("ｃｏｒｒｅｃｔ horse battery", { verifyCurrent }))).toEqual(["same_as_current"]);
    expect(seen).toEqual(["correct horse battery"]);
    expect((await policy.check("a different long passphrase", { verifyCurrent })).ok).toBe(true);
  });

  it("checks currentPasswordHash with the policy's hasher", async () => {
    const hasher = { verify: async (pw: string, stored: string) => stored === `hash(${pw})` };
    const withHasher = createPasswordPolicy({ minLength: 12, commonPasswords, hasher });
    const context = { currentPasswordHash: "hash(correct horse battery)" };
    expect(codes(await withHasher.check("correct horse battery", context))).toEqual(["same_as_current"]);
    expect((await withHasher.check("correct horse battery 2", context)).ok).toBe(true);
  });

  it("will not skip the comparison silently when it has no way to make it", async () => {
    await expect(policy.check("correct horse battery", { currentPasswordHash: "$2b$..." })).rejects.toThrow(/verifyCurrent or a policy hasher/);
  });
});

describe("password policy: breach check", () => {
  it("refuses a breached password and says how often it was seen", async () => {
    const { checker, asked } = scriptedChecker({ breached: true, count: 3861 });
    const result = await createPasswordPolicy({ minLength: 12, commonPasswords, breachCheck: checker }).check("ｔｒｏｕｂａｄｏｒ & co");
    expect(result).toEqual({ ok: false, reasons: [{ code: "breached", message: expect.stringContaining("3,861 times") }] });
    expect(asked).toEqual(["troubador & co"]);
  });

  it("accepts a password the checker has not seen", async () => {
    const { checker } = scriptedChecker({ breached: false, count: 0 });
    const result = await createPasswordPolicy({ minLength: 12, commonPasswords, breachCheck: checker }).check("violet otter juggles");
    expect(result).toEqual({ ok: true, normalised: "violet otter juggles" });
  });

  it("allows, with a flag to audit, when the lookup is unavailable and configured to allow", async () => {
    const { checker } = scriptedChecker({ unavailable: true, error: "no answer within 2000 ms" }, "allow");
    const result = await createPasswordPolicy({ minLength: 12, commonPasswords, breachCheck: checker }).check("violet otter juggles");
    expect(result).toEqual({ ok: true, normalised: "violet otter juggles", breachCheckUnavailable: { error: "no answer within 2000 ms" } });
  });

  it("refuses, saying why, when the lookup is unavailable and configured to refuse", async () => {
    const { checker } = scriptedChecker({ unavailable: true, error: "HTTP 503" }, "refuse");
    const result = await createPasswordPolicy({ minLength: 12, commonPasswords, breachCheck: checker }).check("violet otter juggles");
    expect(result).toEqual({ ok: false, reasons: [{ code: "breach_check_unavailable", message: expect.stringMatching(/try again/) }] });
  });

  it("makes no lookup for a password already refused", async () => {
    const { checker, asked } = scriptedChecker({ breached: false, count: 0 });
    const withCheck = createPasswordPolicy({ minLength: 12, commonPasswords, breachCheck: checker });
    await withCheck.check("short");
    await withCheck.check("password12345");
    await withCheck.check("acme corp forever", { tenantName: "Acme Corp" });
    expect(asked).toEqual([]);
  });
});

describe("password policy: messages", () => {
  it("never repeat the password, whatever the refusal", async () => {
    const breached = createPasswordPolicy({ minLength: 12, commonPasswords, breachCheck: scriptedChecker({ breached: true, count: 1 }).checker });
    const unavailable = createPasswordPolicy({
      minLength: 12,
      commonPasswords,
      breachCheck: scriptedChecker({ unavailable: true, error: "HTTP 500" }, "refuse").checker,
    });
    const cases: [string, Promise<PolicyResult>][] = [
      ["Tiny1!", policy.check("Tiny1!")],
      ["L".repeat(300), policy.check("L".repeat(300))],
      ["Password2024!", policy.check("Password2024!")],
      ["JaneDoe-Secret", policy.check("JaneDoe-Secret", { email: "janedoe@example.com" })],
      ["Current-Secret-99", policy.check("Current-Secret-99", { verifyCurrent: async () => true })],
      ["Breached-Secret-99", breached.check("Breached-Secret-99")],
      ["Unchecked-Secret-99", unavailable.check("Unchecked-Secret-99")],
    ];
    const seenCodes = new Set<string>();
    for (const [password, pending] of cases) {
      const result = await pending;
      expect(result.ok).toBe(false);
      if (result.ok) continue;
      for (const reason of result.reasons) {
        seenCodes.add(reason.code);
        expect(reason.message.length).toBeGreaterThan(10);
        expect(reason.message.toLowerCase()).not.toContain(password.toLowerCase());
      }
    }
    expect([...seenCodes].sort()).toEqual(["breach_check_unavailable", "breached", "common", "context", "same_as_current", "too_long", "too_short"]);
  });
});
