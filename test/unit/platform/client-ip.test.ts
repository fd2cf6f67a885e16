import { normaliseIp } from "../../../src/platform/http/client-ip";

describe("normaliseIp", () => {
  it.each([
    ["::ffff:203.0.113.7", "203.0.113.7"],
    ["203.0.113.7", "203.0.113.7"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["not-an-ip", "not-an-ip"],
  ])("%s -> %s", (input, expected) => {
    expect(normaliseIp(input)).toBe(expected);
  });
});
