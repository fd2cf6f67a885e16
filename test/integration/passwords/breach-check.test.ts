import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createBreachChecker } from "../../../src/passwords/breach-check";
import { createPasswordPolicy } from "../../../src/passwords/password-policy";

// SHA-1("password"), a published test vector, so the expected prefix does not come from the code under test.
const PASSWORD = "password";
const PREFIX = "5BAA6";
const SUFFIX = "1E4C9B93F3F0682250B6CF8331B7EE68FD8";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
type RangeServer = { url: string; requests: IncomingMessage[]; close: () => Promise<void> };

const servers: Server[] = [];

/** A stand-in for the range API on 127.0.0.1; never the real one. */
async function startRangeServer(handler: Handler): Promise<RangeServer> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const close = () => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { url: `http://127.0.0.1:${port}/range/`, requests, close };
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

const answer = (lines: string[]): Handler => (_req, res) => {
  res.writeHead(200, { "Content-Type": "text/plain" });
  res.end(lines.join("\r\n"));
};
const OTHER_SUFFIXES = ["0018A45C4D1DEF81644B54AB7F969B88D65:21", "00D4F6E8FA6EECAD2A3AA415EEC418D38EC:2"];

describe("breach check against a range server", () => {
  it("sends only the 5-character prefix, with Add-Padding, and finds a breached password", async () => {
    const server = await startRangeServer(answer([...OTHER_SUFFIXES, `${SUFFIX}:52256179`, "FFFFF00000000000000000000000000000F:0"]));
    const checker = createBreachChecker({ rangeUrl: server.url, onUnavailable: "allow" });

    expect(await checker.check(PASSWORD)).toEqual({ breached: true, count: 52256179 });
    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request!.method).toBe("GET");
    expect(request!.url).toBe(`/range/${PREFIX}`);
    expect(request!.url!.split("/").pop()).toMatch(/^[0-9A-F]{5}$/);
    expect(request!.headers["add-padding"]).toBe("true");
  });

  it("reports not breached when the suffix is absent", async () => {
    const server = await startRangeServer(answer(OTHER_SUFFIXES));
    const checker = createBreachChecker({ rangeUrl: server.url, onUnavailable: "allow" });
    expect(await checker.check(PASSWORD)).toEqual({ breached: false, count: 0 });
  });

  it("ignores a padding entry (count 0), even for the same suffix", async () => {
    const server = await startRangeServer(answer([...OTHER_SUFFIXES, `${SUFFIX}:0`]));
    const checker = createBreachChecker({ rangeUrl: server.url, onUnavailable: "allow" });
    expect(await checker.check(PASSWORD)).toEqual({ breached: false, count: 0 });
  });

  it("accepts a range URL without its trailing slash", async () => {
    const server = await startRangeServer(answer([`${SUFFIX}:3`]));
    const checker = createBreachChecker({ rangeUrl: server.url.replace(/\/$/, ""), onUnavailable: "allow" });
    expect(await checker.check(PASSWORD)).toEqual({ breached: true, count: 3 });
    expect(server.requests[0]!.url).toBe(`/range/${PREFIX}`);
  });

  it("is unavailable when the server does not answer within the timeout", async () => {
    const server = await startRangeServer(() => undefined);
    const checker = createBreachChecker({ rangeUrl: server.url, timeoutMs: 200, onUnavailable: "allow" });
    const started = Date.now();
    expect(await checker.check(PASSWORD)).toEqual({ unavailable: true, error: "no answer within 200 ms" });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(1500);
  });

  it("is unavailable when the server stalls half-way through its answer", async () => {
    const server = await startRangeServer((_req, res) => {
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.write(`${OTHER_SUFFIXES[0]}\r\n`);
    });
    const checker = createBreachChecker({ rangeUrl: server.url, timeoutMs: 200, onUnavailable: "allow" });
    expect(await checker.check(PASSWORD)).toEqual({ unavailable: true, error: "no answer within 200 ms" });
  });

  it("is unavailable on a server error", async () => {
    const server = await startRangeServer((_req, res) => {
      res.writeHead(500);
      res.end("boom");
    });
    const checker = createBreachChecker({ rangeUrl: server.url, onUnavailable: "allow" });
    expect(await checker.check(PASSWORD)).toEqual({ unavailable: true, error: "HTTP 500" });
  });

  it("is unavailable when nothing listens", async () => {
    const server = await startRangeServer(answer([]));
    await server.close();
    const checker = createBreachChecker({ rangeUrl: server.url, onUnavailable: "allow" });
    expect(await checker.check(PASSWORD)).toEqual({ unavailable: true, error: "network error ECONNREFUSED" });
  });

  it("is unavailable, not 'not breached', when a 200 answer holds no range lines", async () => {
    const server = await startRangeServer((_req, res) => {
      res.writeHead(200, { "Content-Type": "text/html" });
      res.end("<html><body>Please sign in to the network</body></html>");
    });
    const checker = createBreachChecker({ rangeUrl: server.url, onUnavailable: "allow" });
    expect(await checker.check(PASSWORD)).toMatchObject({ unavailable: true });
  });

  it("refuses a bad configuration at construction", () => {
    expect(() => createBreachChecker({ rangeUrl: "ftp://example.com/range/", onUnavailable: "allow" })).toThrow(/rangeUrl/);
    expect(() => createBreachChecker({ rangeUrl: "not a url", onUnavailable: "allow" })).toThrow(/rangeUrl/);
    expect(() => createBreachChecker({ timeoutMs: 0, onUnavailable: "allow" })).toThrow(/timeoutMs/);
    expect(() => createBreachChecker({ onUnavailable: "maybe" as "allow" })).toThrow(/onUnavailable/);
  });
});

describe("password policy with a breach check over HTTP", () => {
  const policyWith = (url: string, onUnavailable: "allow" | "refuse", timeoutMs = 200) =>
    createPasswordPolicy({
      minLength: 8,
      commonPasswords: new Set(),
      breachCheck: createBreachChecker({ rangeUrl: url, timeoutMs, onUnavailable }),
    });

  it("refuses a breached password, looked up in its normalised form", async () => {
    const server = await startRangeServer(answer([`${SUFFIX}:52256179`]));
    const result = await policyWith(server.url, "allow").check("ｐａｓｓｗｏｒｄ");
    expect(result).toEqual({ ok: false, reasons: [{ code: "breached", message: expect.stringContaining("52,256,179 times") }] });
    expect(server.requests[0]!.url).toBe(`/range/${PREFIX}`);
  });

  it("onUnavailable=allow: accepts after a timeout and flags it for the audit trail", async () => {
    const server = await startRangeServer(() => undefined);
    expect(await policyWith(server.url, "allow").check(PASSWORD)).toEqual({
      ok: true,
      normalised: PASSWORD,
      breachCheckUnavailable: { error: "no answer within 200 ms" },
    });
  });

  it("onUnavailable=refuse: refuses after a server error, saying why", async () => {
    const server = await startRangeServer((_req, res) => {
      res.writeHead(500);
      res.end();
    });
    expect(await policyWith(server.url, "refuse").check(PASSWORD)).toEqual({
      ok: false,
      reasons: [{ code: "breach_check_unavailable", message: expect.stringMatching(/could not be checked/) }],
    });
  });

  it("onUnavailable=refuse: refuses after a timeout", async () => {
    const server = await startRangeServer(() => undefined);
    const result = await policyWith(server.url, "refuse").check(PASSWORD);
    expect(result.ok ? [] : result.reasons.map((r) => r.code)).toEqual(["breach_check_unavailable"]);
  });
});
