import { createPrivateDatabase } from "../../support/private-database";
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { SMTPServer } from "smtp-server";
import { systemClock } from "../../../src/platform/clock";
import { createPrismaClient, type Db } from "../../../src/platform/db/prisma";
import { createLogger } from "../../../src/platform/logger";
import { createSmtpMailer, type Mailer } from "../../../src/platform/mail/mailer";
import { createOutboxSender, exponentialBackoff } from "../../../src/platform/mail/outbox-sender";
import { createOutboxStore, type OutboxMailInput } from "../../../src/platform/mail/outbox.store";

// A database of its own: an outbox sender started by any other test of this run must not claim these rows.
const store = createOutboxStore();
const silent = createLogger({ level: "silent" });
let db: Db;
let privateDb: { url: string; drop(): Promise<void> };
let smtp: Receiver;
const mailers: Mailer[] = [];

beforeAll(async () => {
  privateDb = await createPrivateDatabase("outbox");
  db = createPrismaClient(privateDb.url);
  smtp = await startReceiver();
});

afterAll(async () => {
  await Promise.all(mailers.map((m) => m.close()));
  await smtp?.close();
  await db?.$disconnect();
  await privateDb?.drop();
});

const resetMail = (subject: string, extra: Partial<OutboxMailInput> = {}): OutboxMailInput => ({
  to: "ada@example.com",
  subject,
  text: "Reset your password: https://us.gatehouse.test/us/password/reset?token=secret-token",
  html: '<p><a href="https://us.gatehouse.test/us/password/reset?token=secret-token">Reset your password</a></p>',
  kind: "password_reset",
  ...extra,
});

function newSender(logger = silent, batchSize = 20) {
  const mailer = createSmtpMailer(`smtp://127.0.0.1:${smtp.port}?ignoreTLS=true`, "Gatehouse <no-reply@gatehouse.test>");
  mailers.push(mailer);
  return createOutboxSender({ db, store, mailer, clock: systemClock, logger, batchSize });
}

const rowsWithSubject = (prefix: string) => db.mailOutbox.findMany({ where: { subject: { startsWith: prefix } } });

describe("mail outbox", () => {
  it("queues nothing when the transaction that enqueued the mail rolls back", async () => {
    await expect(
      db.$transaction(async (tx) => {
        await store.enqueue(tx, resetMail("rolled back"));
        throw new Error("the change failed");
      }),
    ).rejects.toThrow("the change failed");

    expect(await rowsWithSubject("rolled back")).toEqual([]);
  });

  it("delivers a committed mail once, text and HTML, and marks it sent", async () => {
    await db.$transaction((tx) => store.enqueue(tx, resetMail("committed", { tenantId: "0197a000-0000-7000-8000-000000000001" })));
    const sender = newSender();

    expect(await sender.drainOnce()).toEqual({ sent: 1, failed: 0 });
    expect(await sender.drainOnce()).toEqual({ sent: 0, failed: 0 });

    const received = smtp.withSubject("committed");
    expect(received).toHaveLength(1);
    expect(received[0]).toContain("To: ada@example.com");
    expect(received[0]).toMatch(/Content-Type: text\/plain/);
    expect(received[0]).toMatch(/Content-Type: text\/html/);
    const [row] = await rowsWithSubject("committed");
    expect(row).toMatchObject({ status: "sent", attempts: 1, lockedUntil: null, lastError: null, kind: "password_reset" });
    expect(row?.sentAt).toBeInstanceOf(Date);
  });

  it("keeps no body once a mail is sent (it may hold a reset link), only its recipient, subject and kind", async () => {
    await store.enqueue(db, resetMail("body cleared"));
    expect(await newSender().drainOnce()).toEqual({ sent: 1, failed: 0 });

    expect(smtp.withSubject("body cleared")[0]).toContain("secret-token");
    const [row] = await rowsWithSubject("body cleared");
    expect(row).toMatchObject({ status: "sent", to: "ada@example.com", subject: "body cleared", kind: "password_reset", text: "", html: null });
    expect(JSON.stringify(row)).not.toContain("secret-token");
  });

  it("keeps one row per dedupe key and leaves the caller's transaction usable", async () => {
    const key = `rotation:${randomBytes(4).toString("hex")}:user-1`;
    const inserted = await db.$transaction(async (tx) => {
      const first = await store.enqueue(tx, resetMail("deduped", { dedupeKey: key }));
      const second = await store.enqueue(tx, resetMail("deduped", { dedupeKey: key }));
      // The duplicate did not abort the transaction: this statement still runs.
      const third = await store.enqueue(tx, resetMail("deduped (other key)", { dedupeKey: `${key}-b` }));
      return [first, second, third];
    });
    expect(inserted).toEqual([true, false, true]);
    expect(await store.enqueue(db, resetMail("deduped", { dedupeKey: key }))).toBe(false);
    expect(await db.mailOutbox.count({ where: { dedupeKey: key } })).toBe(1);

    await newSender().drainOnce();
    expect(smtp.withSubject("deduped")).toHaveLength(1);
  });

  it("delivers each mail exactly once when two senders drain the same outbox", async () => {
    const subjects = Array.from({ length: 50 }, (_, i) => `concurrent ${String(i).padStart(2, "0")}`);
    await db.$transaction(async (tx) => {
      for (const subject of subjects) await store.enqueue(tx, resetMail(subject));
    });
    const drainAll = async (sender: ReturnType<typeof newSender>) => {
      let sent = 0;
      for (let r = await sender.drainOnce(); r.sent + r.failed > 0; r = await sender.drainOnce()) sent += r.sent;
      return sent;
    };

    smtp.delayMs = 5; // a slow receiver keeps both senders busy at the same time
    const [a, b] = await Promise.all([drainAll(newSender(silent, 5)), drainAll(newSender(silent, 5))]);
    smtp.delayMs = 0;

    expect(a + b).toBe(50);
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);
    for (const subject of subjects) expect(smtp.withSubject(subject)).toHaveLength(1);
    const rows = await rowsWithSubject("concurrent ");
    expect(rows.every((row) => row.status === "sent" && row.attempts === 1)).toBe(true);
  });

  it("logs the mail's id and kind, never its body, link or recipient", async () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: "debug",
      destination: new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    });
    await store.enqueue(db, resetMail("logged"));
    await newSender(logger).drainOnce();

    const [row] = await rowsWithSubject("logged");
    const log = lines.join("");
    expect(log).toContain(row?.id);
    expect(log).toContain("password_reset");
    expect(log).not.toContain("secret-token");
    expect(log).not.toContain("ada@example.com");
  });

  it("stop() waits for the batch in flight", async () => {
    await store.enqueue(db, resetMail("in flight"));
    const sender = newSender();
    const connectionsBefore = smtp.connections;
    smtp.delayMs = 200;
    sender.start();
    await waitFor(() => smtp.connections > connectionsBefore);
    expect(smtp.withSubject("in flight")).toHaveLength(0);
    await sender.stop();
    smtp.delayMs = 0;

    const [row] = await rowsWithSubject("in flight");
    expect(row?.status).toBe("sent");
    expect(smtp.withSubject("in flight")).toHaveLength(1);
  });
});

describe("exponentialBackoff", () => {
  it("doubles from 5 s, caps at 15 min, and jitters within the upper half", () => {
    const high = exponentialBackoff({ random: () => 1 });
    const low = exponentialBackoff({ random: () => 0 });
    expect([1, 2, 3].map(high)).toEqual([5_000, 10_000, 20_000]);
    expect(high(30)).toBe(15 * 60_000);
    expect(low(1)).toBe(2_500);
    expect(low(30)).toBe(7.5 * 60_000);
  });
});

type Receiver = {
  port: number;
  delayMs: number;
  connections: number;
  withSubject(subject: string): string[];
  close(): Promise<void>;
};

async function startReceiver(): Promise<Receiver> {
  const messages: string[] = [];
  const receiver: Receiver = {
    port: 0,
    delayMs: 0,
    connections: 0,
    withSubject: (subject) => messages.filter((m) => m.split(/\r?\n/).includes(`Subject: ${subject}`)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    disableReverseLookup: true,
    onConnect(_session, done) {
      receiver.connections += 1;
      done();
    },
    onData(stream, _session, done) {
      let data = "";
      stream.on("data", (chunk: Buffer) => (data += chunk.toString()));
      stream.on("end", () => {
        setTimeout(() => {
          messages.push(data);
          done();
        }, receiver.delayMs);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiver.port = (server.server.address() as AddressInfo).port;
  return receiver;
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

