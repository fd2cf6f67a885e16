// A rotation worker with nothing to do looks for campaigns less and less often, yet starts one at once when woken.
import { setTimeout as sleep } from "node:timers/promises";
import { createRotationCampaignStore } from "../../../src/passwords/rotation-campaign.store";
import type { Db } from "../../../src/platform/db/prisma";
import { countedCalls } from "../../support/counted-calls";
import { uniqueSlug, type TestApp } from "../../support/harness";
import { rotationWorkerFor, seedUsers, startPrivateApp } from "./fixtures";

let t: TestApp;
let db: Db;
let closeApp: () => Promise<void>;

beforeAll(async () => {
  ({ t, close: closeApp } = await startPrivateApp("rotation_idle"));
  db = t.container.infra.db;
});

afterAll(async () => {
  await closeApp();
});

/** The real campaign store, counting the worker's looks for running campaigns. */
function countingCampaigns() {
  const store = createRotationCampaignStore();
  const looks = countedCalls(store.listRunning);
  return { campaigns: { ...store, listRunning: looks.call }, looks };
}

describe("rotation worker while idle", () => {
  it("looks less and less often while no campaign runs", async () => {
    const { campaigns, looks } = countingCampaigns();
    const worker = rotationWorkerFor(t, { campaigns });
    worker.start();
    try {
      await sleep(1_200);
    } finally {
      await worker.stop();
    }
    // Waits of 50, 100, 200, 400 and then 800 ms (16 × pollMs): 6 looks by 1.55 s. A fixed 50 ms poll would have made about 24.
    expect(looks.count).toBeGreaterThan(0);
    expect(looks.count).toBeLessThanOrEqual(6);
  });

  it("runs a campaign at once when woken, though its idle wait has grown to seconds", async () => {
    const tenant = (await t.api().post("/api/v1/tenants").send({ slug: uniqueSlug("idle"), name: "Idle Co", region: "us" }).expect(201)).body;
    await seedUsers(db, tenant, "contractor", 3, { kind: "contractor", expected: "flagged" });
    const { campaigns, looks } = countingCampaigns();
    const worker = rotationWorkerFor(t, { campaigns, maxIdleMs: 60_000 });
    worker.start();
    try {
      // After the 6th look the worker waits 1,600 ms before the next.
      await looks.answered(6);
      // The admin API wakes its own instance's worker (not started in tests); this worker is woken as that one would be.
      const res = await t.api().post("/api/v1/password-rotations").send({ tenants: [tenant.slug], mode: "reset_required", revokeSessions: false, notify: false, reason: "idle wake" }).expect(202);
      worker.wake();

      const deadline = Date.now() + 1_000;
      let status = "running";
      while (status === "running" && Date.now() < deadline) {
        await sleep(10);
        status = (await db.rotationCampaign.findUniqueOrThrow({ where: { id: res.body.id as string } })).status;
      }
      expect(status).toBe("completed");
    } finally {
      await worker.stop();
    }
  });
});
