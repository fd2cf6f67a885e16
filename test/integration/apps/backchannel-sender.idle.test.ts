// An idle back-channel sender looks for due retries less and less often, yet retries a logout it just failed on time.
import { setTimeout as sleep } from "node:timers/promises";
import { createBackchannelSender } from "../../../src/apps/backchannel-logout.sender";
import { createBackchannelLogoutStore } from "../../../src/apps/backchannel-logout.store";
import type { OidcProvider } from "../../../src/apps/oidc-provider-api";
import { systemClock } from "../../../src/platform/clock";
import { createPrismaClient, type Db } from "../../../src/platform/db/prisma";
import { createLogger } from "../../../src/platform/logger";
import { countedCalls } from "../../support/counted-calls";
import { createPrivateDatabase } from "../../support/private-database";

// A database of its own: the claims counted here are this file's sender's only.
const logger = createLogger({ level: "silent" });
let db: Db;
let privateDb: { url: string; drop(): Promise<void> };

beforeAll(async () => {
  privateDb = await createPrivateDatabase("backchannel_idle");
  db = createPrismaClient(privateDb.url);
});

afterAll(async () => {
  await db?.$disconnect();
  await privateDb?.drop();
});

/** The real store, counting the sender's looks for due retries. */
function countingStore() {
  const store = createBackchannelLogoutStore();
  const looks = countedCalls(store.claimDue);
  return { store: { ...store, claimDue: looks.call }, looks };
}

/**
 * Only what the sender asks of the OpenID provider: the app, and its back-channel logout. The app refuses
 * the first `refusals` tokens, as one that is redeploying would, and records when each attempt came.
 */
function appRefusing(refusals: number) {
  const attempts: number[] = [];
  const client = {
    backchannelLogoutUri: "https://app.example/backchannel",
    async backchannelLogout() {
      attempts.push(Date.now());
      if (attempts.length <= refusals) throw new Error("expected 200 OK, got: 503 Service Unavailable");
    },
  };
  const provider = { Client: { find: async () => client } } as unknown as OidcProvider;
  return { provider, attempts };
}

describe("back-channel sender while idle", () => {
  it("looks less and less often while no retry is due", async () => {
    const { store, looks } = countingStore();
    const sender = createBackchannelSender({ db, clock: systemClock, logger, store, provider: async () => appRefusing(0).provider, pollMs: 20 });
    sender.start();
    try {
      await sleep(1_300);
    } finally {
      await sender.stop();
    }
    // Waits of 20, 40, ..., 320 ms (16 × pollMs), then 320 again: 8 looks by 1.26 s. A fixed 20 ms poll would have made about 60.
    expect(looks.count).toBeGreaterThan(0);
    expect(looks.count).toBeLessThanOrEqual(9);
  });

  it("retries a logout the app refused when its delay is up, though the idle wait had grown to seconds", async () => {
    const { store, looks } = countingStore();
    const app = appRefusing(1);
    const sender = createBackchannelSender({ db, clock: systemClock, logger, store, provider: async () => app.provider, pollMs: 20, maxIdleMs: 60_000, retryDelaysMs: [100] });
    sender.start();
    try {
      // After the 8th look the sender waits 2,560 ms before the next.
      await looks.answered(8);
      sender.send([{ clientId: "idle-app", sub: "user-1", sid: "sid-1" }]);

      const deadline = Date.now() + 1_500;
      while (app.attempts.length < 2 && Date.now() < deadline) await sleep(10);

      expect(app.attempts).toHaveLength(2);
      expect(await db.backchannelLogout.findMany({ where: { sid: "sid-1" } })).toEqual([]);
    } finally {
      await sender.stop();
    }
  });
});
