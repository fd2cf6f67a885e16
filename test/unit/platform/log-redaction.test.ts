// Attack: an operator or log pipeline reads secrets that requests carried into the logs.
import { Writable } from "node:stream";
import { createLogger } from "../../../src/platform/logger";

function capture() {
  const lines: string[] = [];
  const destination = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
  return { lines, logger: createLogger({ level: "info", destination }) };
}

describe("log redaction", () => {
  it("censors passwords, codes, tokens, keys and auth headers at any depth", () => {
    const { lines, logger } = capture();
    logger.info({
      password: "hunter2-hunter2", code: "123456", token: "tok-abc", key: "gh_secretkey",
      body: { new_password: "n3w-passw0rd!", clientSecret: "cs-xyz" },
      headers: { authorization: "Bearer gh_live", cookie: "__Host-gh=abc" },
    }, "event");
    const out = lines.join("");
    for (const secret of ["hunter2-hunter2", "123456", "tok-abc", "gh_secretkey", "n3w-passw0rd!", "cs-xyz", "gh_live", "__Host-gh=abc"]) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain("[redacted]");
  });
});
