// SMTP goes down, or a sender dies mid-batch: mail must wait in the outbox and go out exactly once later, never be lost.
import { createPrivateDatabase } from "../support/private-database";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { ManualClock } from "../../src/platform/clock";
import { createPrismaClient, type Db } from "../../src/platform/db/prisma";
import { createLogger } from "../../src/platform/logger";
import { createSmtpMailer, type Mailer } from "../../src/platform/mail/mailer";
import { createOutboxSender, exponentialBackoff } from "../../src/platform/mail/outbox-sender";
import { createOutboxStore } from "../../src/platform/mail/outbox.store";

// A database of its own: no other sender of this test run may claim these rows, and counts stay exact.
const store = createOutboxStore();
const logger = createLogger({ level: "silent" });
const MINUTE = 60_000;
let db: Db;
let privateDb: { url: string; drop(): Promise<void> };
const mailers: Mailer[] = [];
const receivers: Receiver[] = [];

beforeAll(async () => {
  privateDb = await createPrivateDatabase("smtp_outage");
  db = createPrismaClient(privateDb.url);
});

afterAll(async () => {
  await Promise.all(mailers.map((m) => m.close()));
  await Promise.all(receivers.map((r) => r.close()));
  await db?.$disconnect();
  await privateDb?.drop();
});

beforeEach(() => db.mailOutbox.deleteMany());

function newSender(port: number, clock: ManualClock, options: { maxAttempts?: number } = {}) {
  const mailer = createSmtpMailer(`smtp://127.0.0.1:${port}?ignoreTLS=true`, "Gatehouse <no-reply@gatehouse.test>");
  mailers.push(mailer);
  // Deterministic backoff (no jitter) so the test knows when each retry is due.
  const backoff = exponentialBackoff({ random: () => 1 });
  return createOutboxSender({ db, store, mailer, clock, logger, backoff, ...options });
}

async function enqueue(count: number, clock: ManualClock): Promise<void> {
  await db.$transaction(async (tx) => {
    for (let i = 0; i < count; i += 1) {
      await store.enqueue(tx, { to: `user${i}@example.com`, subject: `notice ${i}`, text: "A bypass login happened.", kind: "bypass_notice", notBefore: clock.now() });
    }
  });
}

describe("SMTP outage", () => {
  it("keeps mail pending with a later retry while SMTP is down, then delivers each once when it returns", async () => {
    const clock = new ManualClock();
    const port = await freePort();
    await enqueue(5, clock);
    const sender = newSender(port, clock);

    expect(await sender.drainOnce()).toEqual({ sent: 0, failed: 5 });
    let rows = await db.mailOutbox.findMany();
    for (const row of rows) {
      expect(row).toMatchObject({ status: "pending", attempts: 1, lockedUntil: null, sentAt: null });
      expect(row.nextAttemptAt.getTime()).toBe(clock.now().getTime() + 5_000);
      expect(row.lastError).toMatch(/ECONNREFUSED|connect/i);
    }
    // Not due yet: nothing is claimed, so nothing is attempted.
    expect(await sender.drainOnce()).toEqual({ sent: 0, failed: 0 });

    clock.advance(5_000);
    expect(await sender.drainOnce()).toEqual({ sent: 0, failed: 5 });
    rows = await db.mailOutbox.findMany();
    expect(rows.every((row) => row.attempts === 2 && row.nextAttemptAt.getTime() === clock.now().getTime() + 10_000)).toBe(true);

    const smtp = await startReceiver(port);
    expect(await sender.drainOnce()).toEqual({ sent: 0, failed: 0 });
    clock.advance(15 * MINUTE);
    expect(await sender.drainOnce()).toEqual({ sent: 5, failed: 0 });
    clock.advance(60 * MINUTE);
    expect(await sender.drainOnce()).toEqual({ sent: 0, failed: 0 });

    expect(smtp.messages).toHaveLength(5);
    for (let i = 0; i < 5; i += 1) expect(smtp.messages.filter((m) => m.includes(`Subject: notice ${i}\r\n`))).toHaveLength(1);
    expect(await store.countByStatus(db)).toEqual({ pending: 0, sending: 0, sent: 5, failed: 0 });
  });

  it("gives up after maxAttempts and keeps the row as failed with the last error", async () => {
    const clock = new ManualClock();
    await enqueue(1, clock);
    const sender = newSender(await freePort(), clock, { maxAttempts: 3 });

    for (let attempt = 1; attempt <= 3; attempt += 1) {
      expect(await sender.drainOnce()).toEqual({ sent: 0, failed: 1 });
      clock.advance(15 * MINUTE);
    }
    expect(await sender.drainOnce()).toEqual({ sent: 0, failed: 0 });

    const [row] = await db.mailOutbox.findMany();
    expect(row).toMatchObject({ status: "failed", attempts: 3, lockedUntil: null });
    expect(row?.lastError).toBeTruthy();
    expect(await store.countByStatus(db)).toEqual({ pending: 0, sending: 0, sent: 0, failed: 1 });
  });
});

describe("a sender that dies mid-batch", () => {
  it("has its claimed rows picked up by another sender once the lock runs out, and cannot mark them afterwards", async () => {
    const clock = new ManualClock();
    const smtp = await startReceiver(0);
    await enqueue(3, clock);

    // The dead sender claimed everything and never reported back.
    const lockMs = 10 * MINUTE;
    const stale = await store.claimBatch(db, { limit: 10, lockMs, now: clock.now() });
    expect(stale).toHaveLength(3);
    expect(await store.countByStatus(db)).toMatchObject({ sending: 3 });

    const survivor = newSender(smtp.port, clock);
    expect(await survivor.drainOnce()).toEqual({ sent: 0, failed: 0 });
    clock.advance(lockMs);
    expect(await survivor.drainOnce()).toEqual({ sent: 3, failed: 0 });
    expect(smtp.messages).toHaveLength(3);

    // If the dead sender wakes up, its claim is stale and cannot undo the delivery.
    const [first] = stale;
    if (!first) throw new Error("no claimed row");
    expect(await store.markFailed(db, first, "late failure", clock.now())).toBe(false);
    expect(await store.markSent(db, first, clock.now())).toBe(false);
    const rows = await db.mailOutbox.findMany();
    expect(rows.every((row) => row.status === "sent" && row.attempts === 2)).toBe(true);
  });

  it("never hands the same row to two claims made at the same moment", async () => {
    const clock = new ManualClock();
    await enqueue(40, clock);
    const claims = await Promise.all(
      Array.from({ length: 8 }, () => store.claimBatch(db, { limit: 10, lockMs: MINUTE, now: clock.now() })),
    );
    const ids = claims.flat().map((row) => row.id);
    expect(ids).toHaveLength(40);
    expect(new Set(ids).size).toBe(40);
  });
});

type Receiver = { port: number; messages: string[]; close(): Promise<void> };

async function startReceiver(port: number): Promise<Receiver> {
  const messages: string[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    disableReverseLookup: true,
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
  const receiver: Receiver = {
    port: (server.server.address() as AddressInfo).port,
    messages,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  receivers.push(receiver);
  return receiver;
}

/** A port that nothing listens on: bound once by a receiver, then closed. */
async function freePort(): Promise<number> {
  const receiver = await startReceiver(0);
  await receiver.close();
  receivers.splice(receivers.indexOf(receiver), 1);
  return receiver.port;
}

