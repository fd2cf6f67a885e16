// SMTP is down while a campaign queues thousands of mails: the sender must pause as a whole, not claim and fail fresh mail as fast as it can.
import type { AddressInfo } from "node:net";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { SMTPServer } from "smtp-server";
import { ManualClock, systemClock, type Clock } from "../../../src/platform/clock";
import { createPrismaClient, type Db } from "../../../src/platform/db/prisma";
import { createLogger } from "../../../src/platform/logger";
import { createSmtpMailer, type Mailer } from "../../../src/platform/mail/mailer";
import { createOutboxSender, exponentialBackoff, type Backoff } from "../../../src/platform/mail/outbox-sender";
import { createOutboxStore } from "../../../src/platform/mail/outbox.store";
import { createPrivateDatabase } from "../../support/private-database";

// A database of its own: no other sender of this run may claim these rows, and counts stay exact.
const store = createOutboxStore();
const logger = createLogger({ level: "silent" });
let db: Db;
let privateDb: { url: string; drop(): Promise<void> };
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  privateDb = await createPrivateDatabase("outbox_pause");
  db = createPrismaClient(privateDb.url);
});

afterAll(async () => {
  await Promise.all(closers.map((close) => close()));
  await db?.$disconnect();
  await privateDb?.drop();
});

beforeEach(() => db.mailOutbox.deleteMany());

/** The real SMTP mailer, counting how often a send was tried. */
function countingMailer(port: number): Mailer & { sends: number } {
  const smtp = createSmtpMailer(`smtp://127.0.0.1:${port}?ignoreTLS=true`, "Gatehouse <no-reply@gatehouse.test>");
  closers.push(() => smtp.close());
  const mailer = { kind: smtp.kind, sends: 0, send: (message: Parameters<Mailer["send"]>[0]) => ((mailer.sends += 1), smtp.send(message)), close: () => smtp.close() };
  return mailer;
}

// No jitter, so the test knows every delay: per mail 1 min, 2 min, ...; for the whole sender 1 s, 2 s, 4 s, then 4 s.
const mailBackoff = exponentialBackoff({ baseMs: 60_000, random: () => 1 });
const pauseBackoff: Backoff = exponentialBackoff({ baseMs: 1_000, maxMs: 4_000, random: () => 1 });

function newSender(mailer: Mailer, clock: Clock, options: { batchSize?: number; outagePause?: Backoff } = {}) {
  return createOutboxSender({ db, store, mailer, clock, logger, backoff: mailBackoff, outagePause: pauseBackoff, ...options });
}

async function enqueue(subjects: string[], clock: Clock, to = (i: number) => `user${i}@example.com`): Promise<void> {
  await store.enqueueMany(db, subjects.map((subject, i) => ({ to: to(i), subject, text: `Reset link for ${subject}`, kind: "password_reset", notBefore: clock.now() })));
}

const row = async (subject: string) => db.mailOutbox.findFirstOrThrow({ where: { subject } });

describe("outbox sender: mail server outage", () => {
  it("fails the rest of the batch untried at the first connection error, and pauses the whole sender, doubling up to a cap", async () => {
    const clock = new ManualClock();
    const port = await freePort();
    const mailer = countingMailer(port);
    const sender = newSender(mailer, clock, { batchSize: 5 });

    await enqueue(["a", "b", "c", "d", "e"], clock);
    expect(await sender.drainOnce()).toEqual({ sent: 0, failed: 5 });
    expect(mailer.sends).toBe(1);
    for (const subject of ["a", "b", "c", "d", "e"]) {
      // Each counts the attempt its claim made and waits its own backoff; its body stays for the retry.
      expect(await row(subject)).toMatchObject({ status: "pending", attempts: 1, lockedUntil: null, text: `Reset link for ${subject}`, lastError: expect.stringMatching(/ECONNREFUSED/) });
      expect((await row(subject)).nextAttemptAt.getTime()).toBe(clock.now().getTime() + 60_000);
    }
    expect(sender.pausedUntil()?.getTime()).toBe(clock.now().getTime() + 1_000);

    // Paused: a fresh mail, due now, is not even claimed.
    await enqueue(["fresh"], clock);
    expect(await sender.drainOnce()).toEqual({ sent: 0, failed: 0 });
    expect(await row("fresh")).toMatchObject({ status: "pending", attempts: 0 });

    // Each outage in a row doubles the pause, up to the cap.
    for (const [i, pauseMs] of [2_000, 4_000, 4_000].entries()) {
      clock.advance(sender.pausedUntil()!.getTime() - clock.now().getTime());
      if (i > 0) await enqueue([`fresh ${i}`], clock);
      expect(await sender.drainOnce()).toEqual({ sent: 0, failed: 1 });
      expect(sender.pausedUntil()?.getTime()).toBe(clock.now().getTime() + pauseMs);
    }
    expect(mailer.sends).toBe(4);

    // The server is back: after the pause everything due goes out, and the next outage starts again at 1 s.
    const receiver = await startReceiver(port);
    clock.advance(10 * 60_000);
    expect(await sender.drainOnce()).toEqual({ sent: 5, failed: 0 });
    expect(sender.pausedUntil()).toBeNull();
    await receiver.close();
    await enqueue(["after"], clock);
    expect(await sender.drainOnce()).toMatchObject({ sent: 0 });
    expect(sender.pausedUntil()?.getTime()).toBe(clock.now().getTime() + 1_000);
  });

  it("does not pause for a mail the server refuses: that mail alone waits its own backoff", async () => {
    const clock = new ManualClock();
    const receiver = await startReceiver(0, { refuse: "refused@example.com" });
    const mailer = countingMailer(receiver.port);
    const sender = newSender(mailer, clock);

    await enqueue(["one", "two", "three"], clock, (i) => (i === 1 ? "refused@example.com" : `user${i}@example.com`));
    expect(await sender.drainOnce()).toEqual({ sent: 2, failed: 1 });
    expect(mailer.sends).toBe(3);
    expect(sender.pausedUntil()).toBeNull();
    expect(await row("two")).toMatchObject({ status: "pending", attempts: 1, lastError: expect.stringMatching(/550/) });
    expect(receiver.messages).toHaveLength(2);
  });

  it("a running sender waits out the pause instead of claiming the backlog at once", async () => {
    const mailer = countingMailer(await freePort());
    const sender = newSender(mailer, systemClock, { batchSize: 5, outagePause: () => 60_000 });
    await enqueue(Array.from({ length: 30 }, (_, i) => `backlog ${i}`), systemClock);

    sender.start();
    try {
      await waitFor(() => mailer.sends > 0);
      // Without the pause a full batch sends the loop straight back for the next five.
      await sleep(300);
      expect(mailer.sends).toBe(1);
      expect(await db.mailOutbox.count({ where: { attempts: 1 } })).toBe(5);
      expect(await db.mailOutbox.count({ where: { attempts: 0, status: "pending" } })).toBe(25);
    } finally {
      await sender.stop();
    }
  });
});

type Receiver = { port: number; messages: string[]; close(): Promise<void> };

async function startReceiver(port: number, options: { refuse?: string } = {}): Promise<Receiver> {
  const messages: string[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    disableReverseLookup: true,
    onRcptTo(address, _session, done) {
      if (address.address === options.refuse) return done(Object.assign(new Error("No such user"), { responseCode: 550 }));
      done();
    },
    onData(stream, _session, done) {
      let data = "";
      stream.on("data", (chunk: Buffer) => (data += chunk.toString()));
      stream.on("end", () => {
        messages.push(data);
        done();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  closers.push(close);
  return { port: (server.server.address() as AddressInfo).port, messages, close };
}

/** A port that nothing listens on: bound once, then closed. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(5);
  }
}
