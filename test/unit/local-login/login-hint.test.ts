import { loginHintOf } from "../../../src/local-login/login-hint";

describe("loginHintOf", () => {
  it("keeps a plausible email address, trimmed", () => {
    expect(loginHintOf("  ann@acme.example ")).toBe("ann@acme.example");
  });

  it.each([
    ["not a string", 42],
    ["no @", "ann"],
    ["markup", "<script>@x"],
    ["quotes", "a\"b@acme.example"],
    ["too long", `${"a".repeat(320)}@acme.example`],
  ])("drops %s", (_label, value) => {
    expect(loginHintOf(value)).toBe("");
  });
});
