// An idle sender looks for mail less and less often, yet mail this process queues goes out within pollMs.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { systemClock } from "../../../src/platform/clock";
import { createPrismaClient, type Db } from "../../../src/platform/db/prisma";
import { createLogger } from "../../../src/platform/logger";
import { createFileMailer } from "../../../src/platform/mail/mailer";
import { createOutboxSender, type OutboxSender } from "../../../src/platform/mail/outbox-sender";
import { createOutboxStore, type OutboxStore } from "../../../src/platform/mail/outbox.store";
import { countedCalls } from "../../support/counted-calls";
import { createPrivateDatabase } from "../../support/private-database";

// A database of its own: the claims counted here are this file's sender's only.
const logger = createLogger({ level: "silent" });
let db: Db;
let privateDb: { url: string; drop(): Promise<void> };
let mailDir: string;
let sender: OutboxSender | undefined;

beforeAll(async () => {
  privateDb = await createPrivateDatabase("outbox_idle");
  db = createPrismaClient(privateDb.url);
  mailDir = mkdtempSync(path.join(tmpdir(), "gatehouse-outbox-idle-"));
});

afterEach(async () => {
  await sender?.stop();
  sender = undefined;
});

afterAll(async () => {
  await db?.$disconnect();
  await privateDb?.drop();
  rmSync(mailDir, { recursive: true, force: true });
});

/** The real store, counting the sender's claims (its looks for mail). */
function countingStore() {
  const store = createOutboxStore();
  const claims = countedCalls(store.claimBatch);
  return { store: { ...store, claimBatch: claims.call }, claims };
}

function startSender(store: OutboxStore) {
  const mailer = createFileMailer(mailDir, "Gatehouse <no-reply@gatehouse.test>");
  sender = createOutboxSender({ db, store, mailer, clock: systemClock, logger, pollMs: 20, maxIdleMs: 60_000 });
  sender.start();
}

async function waitForSent(subject: string, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    const row = await db.mailOutbox.findFirst({ where: { subject } });
    if (row?.status === "sent") return true;
    await sleep(10);
  }
  return false;
}

describe("outbox sender while idle", () => {
  it("looks less and less often while there is no mail", async () => {
    const { store, claims } = countingStore();
    startSender(store);

    await sleep(1_300);

    // Waits of 20, 40, 80, ..., 640 ms: 7 looks by 1.27 s. A fixed 20 ms poll would have made about 60.
    expect(claims.count).toBeGreaterThan(0);
    expect(claims.count).toBeLessThanOrEqual(8);
  });

  it("sends mail queued by this process within pollMs, though its idle wait has grown to seconds", async () => {
    const { store, claims } = countingStore();
    startSender(store);
    // After the 8th look the sender waits 2,560 ms before the next.
    await claims.answered(8);

    await db.$transaction((tx) => store.enqueue(tx, { to: "ada@example.com", subject: "queued while idle", text: "Your password was changed.", kind: "password_changed" }));

    expect(await waitForSent("queued while idle", 1_500)).toBe(true);
    expect(readdirSync(mailDir).length).toBeGreaterThan(0);
  });
});
