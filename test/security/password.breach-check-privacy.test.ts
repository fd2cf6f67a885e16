// Attack: the breach-check provider, or anyone observing the lookup, learns the user's password (or enough of its hash to crack it) from the request.
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createBreachChecker } from "../../src/passwords/breach-check";
import { createPasswordPolicy } from "../../src/passwords/password-policy";

type CapturedRequest = { method: string; url: string; headers: string; body: string };

let server: Server;
let rangeUrl: string;
const captured: CapturedRequest[] = [];
/** Suffixes the stand-in provider knows, as the real one would list them for any prefix. */
const knownSuffixes = new Map<string, number>();

const sha1 = (value: string) => createHash("sha1").update(value, "utf8").digest("hex").toUpperCase();

/** Everything the provider (or an observer of a plain-text connection) receives, as one string. */
const wireText = (request: CapturedRequest) => `${request.method} ${request.url}\n${request.headers}\n\n${request.body}`;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString("latin1")));
    req.on("end", () => {
      const headers = req.rawHeaders.reduce((text, part, i) => text + (i % 2 === 0 ? `${part}: ` : `${part}\n`), "");
      captured.push({ method: req.method ?? "", url: req.url ?? "", headers, body });
      const lines = [...knownSuffixes].map(([suffix, count]) => `${suffix}:${count}`);
      // Padding, as the real provider adds it: entries with count 0.
      for (let i = 0; i < 50; i += 1) lines.push(`${sha1(`padding-${i}`).slice(5)}:0`);
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.end(lines.join("\r\n"));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  rangeUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/range/`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  captured.length = 0;
  knownSuffixes.clear();
});

/** Two different passwords whose SHA-1 share the first five hex characters (about 1,200 tries). */
function passwordsSharingAPrefix(): [string, string] {
  const seen = new Map<string, string>();
  for (let i = 0; ; i += 1) {
    const candidate = `Tr0ub4dor&3-${i}`;
    const prefix = sha1(candidate).slice(0, 5);
    const earlier = seen.get(prefix);
    if (earlier) return [earlier, candidate];
    seen.set(prefix, candidate);
  }
}

describe("breach-check privacy (k-anonymity)", () => {
  it.each([
    ["an ASCII password", "correct horse battery staple"],
    ["a non-ASCII password", "пароль-для-входа-🔑"],
    ["a 256-character password", "long secret phrase ".repeat(14).slice(0, 256)],
  ])("only 5 hex characters of the hash leave for %s", async (_what, password) => {
    const checker = createBreachChecker({ rangeUrl, onUnavailable: "refuse" });
    await checker.check(password);

    expect(captured).toHaveLength(1);
    const request = captured[0]!;
    const hash = sha1(password);
    expect(request.method).toBe("GET");
    expect(request.url).toBe(`/range/${hash.slice(0, 5)}`);
    expect(request.body).toBe("");

    const wire = wireText(request).toLowerCase();
    for (const secret of [password, encodeURIComponent(password), Buffer.from(password).toString("base64"), Buffer.from(password).toString("hex")]) {
      expect(wire).not.toContain(secret.toLowerCase());
    }
    // Not the full hash, not its suffix, and not even a sixth character of it.
    expect(wire).not.toContain(hash.toLowerCase());
    expect(wire).not.toContain(hash.slice(5).toLowerCase());
    expect(wire).not.toContain(hash.slice(0, 6).toLowerCase());
  });

  it("asks for padding, so the answer's size does not single out the prefix", async () => {
    await createBreachChecker({ rangeUrl, onUnavailable: "refuse" }).check("correct horse battery staple");
    expect(captured[0]!.headers).toMatch(/^add-padding: true$/im);
  });

  it("sends byte-identical lookups for two passwords that share a prefix: the provider cannot tell them apart", async () => {
    const [first, second] = passwordsSharingAPrefix();
    expect(first).not.toBe(second);
    const checker = createBreachChecker({ rangeUrl, onUnavailable: "refuse" });
    await checker.check(first);
    await checker.check(second);
    expect(captured).toHaveLength(2);
    expect(wireText(captured[1]!)).toBe(wireText(captured[0]!));
  });

  it("matches the suffix locally: the answer covers many passwords, only this process knows which one was meant", async () => {
    const [first, second] = passwordsSharingAPrefix();
    knownSuffixes.set(sha1(first).slice(5), 7);
    knownSuffixes.set(sha1("some other breached password").slice(5), 99);
    const checker = createBreachChecker({ rangeUrl, onUnavailable: "refuse" });
    expect(await checker.check(first)).toEqual({ breached: true, count: 7 });
    expect(await checker.check(second)).toEqual({ breached: false, count: 0 });
    expect(wireText(captured[1]!)).toBe(wireText(captured[0]!));
  });

  it("through the policy: the lookup carries only the normalised password's prefix, and none for a refused password", async () => {
    const policy = createPasswordPolicy({
      minLength: 12,
      commonPasswords: new Set(["sunshine"]),
      breachCheck: createBreachChecker({ rangeUrl, onUnavailable: "refuse" }),
    });
    await policy.check("ｃｏｒｒｅｃｔ ｈｏｒｓｅ ｂａｔｔｅｒｙ");
    await policy.check("sunshine-2024-!!");
    await policy.check("acme corp forever and ever", { tenantName: "Acme Corp" });
    expect(captured.map((r) => r.url)).toEqual([`/range/${sha1("correct horse battery").slice(0, 5)}`]);
  });
});
