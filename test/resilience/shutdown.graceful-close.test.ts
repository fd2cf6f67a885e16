// A deploy stops an instance under load: a request a client has already sent must be answered, never reset.
import { createServer, type Server } from "node:http";
import net, { type AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { gracefulClose, type GracefulClose } from "../../src/platform/http/graceful-close";

let server: Server;
let closing: GracefulClose;
let port: number;

/** A server whose handler takes `delayMs` before answering 200 "ok". */
async function start(delayMs: number, firstRequestWindowMs: number): Promise<void> {
  server = createServer((_req, res) => {
    setTimeout(() => res.end("ok"), delayMs);
  });
  closing = gracefulClose(server, { firstRequestWindowMs });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
}

afterEach(() => {
  server.closeAllConnections();
  server.close();
});

/** A raw keep-alive connection: what it received, and whether the server ended or reset it. */
async function connect() {
  const socket = net.connect(port, "127.0.0.1");
  const seen = { data: "", ended: false, reset: false, closedAt: 0 };
  socket.setEncoding("latin1");
  socket.on("data", (chunk: string) => (seen.data += chunk));
  socket.on("end", () => ((seen.ended = true), socket.end()));
  socket.on("error", (error: NodeJS.ErrnoException) => (seen.reset = error.code === "ECONNRESET"));
  socket.on("close", () => (seen.closedAt = Date.now()));
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  const send = () => socket.write("GET / HTTP/1.1\r\nHost: gatehouse.test\r\n\r\n");
  const answered = async () => {
    while (!seen.data.endsWith("ok") && !seen.reset && seen.closedAt === 0) await sleep(5);
    return seen.data;
  };
  return { seen, send, answered };
}

describe("graceful close", () => {
  it("answers a request sent on a connection accepted just before the drain, though Node counted it idle", async () => {
    await start(0, 1_000);
    const client = await connect();
    const drained = closing.drain();
    // Past the 100 ms after which an idle connection used to be closed: the request sits unread meanwhile.
    await sleep(300);
    client.send();

    const answer = await client.answered();
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(answer).toMatch(/\r\nConnection: close\r\n/i);
    await drained;
    expect(client.seen.reset).toBe(false);
  });

  it("answers a request in flight when the drain starts in full, without keep-alive", async () => {
    await start(200, 1_000);
    const client = await connect();
    client.send();
    await sleep(50);
    const drained = closing.drain();

    const answer = await client.answered();
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(answer.endsWith("ok")).toBe(true);
    await drained;
    expect(client.seen.ended).toBe(true);
  });

  it("closes a keep-alive connection waiting for its next request at once", async () => {
    // A first-request window far past the test's timeout: only a connection that has served a request can be closed.
    await start(0, 60_000);
    const client = await connect();
    client.send();
    await client.answered();

    await closing.drain();
    expect(client.seen.ended).toBe(true);
    expect(client.seen.reset).toBe(false);
  });

  it("closes a connection that never sends a request once the first-request window is up", async () => {
    await start(0, 300);
    const client = await connect();
    const startedAt = Date.now();

    await closing.drain();
    expect(client.seen.ended).toBe(true);
    expect(client.seen.closedAt - startedAt).toBeGreaterThanOrEqual(250);
  });
});
