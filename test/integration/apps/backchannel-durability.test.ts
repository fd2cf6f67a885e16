// Back-channel logouts are owed durably: an app that is down when a session ends hears of it later, from
// whichever instance polls, also after the instance that ended the session restarted, and exactly once.
import { createRemoteJWKSet, jwtVerify } from "jose";
import type * as oidc from "openid-client";
import { ManualClock } from "../../../src/platform/clock";
import { expectMatchesSpec } from "../../support/openapi";
import { loginThroughApp, redeem, userWithTotp } from "../../support/product-app-login";
import { rpConfiguration, startListeningApp, startTestRp, type RegisteredApp, type TestRp } from "../../support/relying-party";

type Instance = Awaited<ReturnType<typeof startListeningApp>>;

const clock = new ManualClock();
let first: Instance;
let rp: TestRp;
let app: RegisteredApp;
let config: oidc.Configuration;

beforeAll(async () => {
  first = await startListeningApp({}, clock);
  rp = await startTestRp();
  app = await rp.register(first);
  config = await rpConfiguration(first.publicUrl, app);
});
afterAll(async () => {
  await rp.close();
  await first.close();
});

/** A user signed in to the app through `first`, then signed out there while the app refuses `refusals` logouts. */
async function loggedOutWhileAppDown(refusals: number) {
  const user = await userWithTotp(first, clock);
  const { browser, request, callback } = await loginThroughApp(first, config, app, user, clock);
  const tokens = await redeem(config, request, callback);
  rp.refuseLogouts(refusals);
  expect((await browser.post("/logout", {})).status).toBe(303);
  await first.container.oidcLogout.settled();
  return { userId: user.userId, sid: tokens.claims()!.sid as string };
}

/** What is still owed to the app for this provider session, as rows. */
const owed = (instance: Instance, sid: string) => instance.container.infra.db.backchannelLogout.findMany({ where: { clientId: app.clientId, sid } });

/** Another instance of the same deployment: same database, same public URL, its own process state. */
const secondInstance = () => startListeningApp({ PUBLIC_URL: first.publicUrl }, clock);

describe("back-channel logout owed to an app that is down", () => {
  it("is delivered by another instance after the one that ended the session is gone", async () => {
    const { userId, sid } = await loggedOutWhileAppDown(1);
    const before = rp.logoutTokens.length;
    const second = await secondInstance();
    try {
      // The instance that ended the session tried once and recorded the debt; it is never asked again.
      const rows = await owed(second, sid);
      expect(rows).toMatchObject([{ status: "pending", attempts: 1 }]);
      expect(rows[0]!.lastError).toMatch(/503/);

      clock.advance(1_000);
      await second.container.backchannelLogouts.drainOnce();
      const token = await rp.nextLogoutToken();
      expect(rp.logoutTokens.length).toBe(before + 1);
      // Signed with the deployment's key, as the key set that the second instance publishes shows.
      const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${second.publicUrl}/oidc/jwks`)), { issuer: `${first.publicUrl}/oidc`, audience: app.clientId, typ: "logout+jwt" });
      expect(payload).toMatchObject({ sub: userId, sid });
      expect(await owed(second, sid)).toEqual([]);
    } finally {
      await second.close();
    }
  });

  it("is picked up by a running instance's poller without being asked", async () => {
    await loggedOutWhileAppDown(1);
    const second = await secondInstance();
    try {
      second.container.backchannelLogouts.start();
      clock.advance(1_000);
      expect(await rp.nextLogoutToken(5_000)).toEqual(expect.any(String));
    } finally {
      await second.container.backchannelLogouts.stop();
      await second.close();
    }
  });

  it("goes to the app once when two instances poll for it at the same moment", async () => {
    const { sid } = await loggedOutWhileAppDown(1);
    const second = await secondInstance();
    try {
      const before = rp.logoutTokens.length;
      clock.advance(1_000);
      await Promise.all([first.container.backchannelLogouts.drainOnce(), second.container.backchannelLogouts.drainOnce()]);
      await rp.nextLogoutToken();
      expect(rp.logoutTokens.length).toBe(before + 1);
      expect(await owed(second, sid)).toEqual([]);
    } finally {
      await second.close();
    }
  });

  it("is given up after the last retry, and the failed row stays for an operator", async () => {
    const { sid } = await loggedOutWhileAppDown(1_000);
    const second = await secondInstance();
    try {
      // The default delays after each failure: 1 s, 5 s, 30 s, 2 min, 10 min, 30 min.
      for (const delay of [1_000, 5_000, 30_000, 120_000, 600_000, 1_800_000]) {
        clock.advance(delay);
        await second.container.backchannelLogouts.drainOnce();
      }
      const [row] = await owed(second, sid);
      expect(row).toMatchObject({ status: "failed", attempts: 7 });

      rp.refuseLogouts(0);
      const refused = rp.refusedLogouts();
      clock.advance(24 * 60 * 60_000);
      await second.container.backchannelLogouts.drainOnce();
      expect(rp.refusedLogouts()).toBe(refused);
      expect(await owed(second, sid)).toMatchObject([{ status: "failed", attempts: 7 }]);
    } finally {
      await second.close();
    }
  });

  it("shows in the admin API, and is owed again once an operator says the app is fixed", async () => {
    const { userId, sid } = await loggedOutWhileAppDown(1_000);
    for (const delay of [1_000, 5_000, 30_000, 120_000, 600_000, 1_800_000]) {
      clock.advance(delay);
      await first.container.backchannelLogouts.drainOnce();
    }
    const path = `/api/v1/applications/${app.id}/backchannel-logouts`;
    const summary = await first.api().get(path).expect(200);
    expectMatchesSpec(summary, "GET", path);
    expect(summary.body.failed).toBeGreaterThanOrEqual(1);
    const [failure] = summary.body.recentFailures;
    expect(failure).toMatchObject({ userId, attempts: 7, lastError: expect.stringMatching(/503/) });

    rp.refuseLogouts(0);
    const retried = await first.api().post(`${path}/retry`).expect(200);
    expectMatchesSpec(retried, "POST", `${path}/retry`);
    expect(retried.body.requeued).toBe(summary.body.failed);
    expect(await first.container.infra.db.auditEvent.count({ where: { type: "application.backchannel_logouts_requeued", targetId: app.id } })).toBeGreaterThanOrEqual(1);

    const before = rp.logoutTokens.length;
    await first.container.backchannelLogouts.drainOnce();
    expect(rp.logoutTokens.length - before).toBe(summary.body.failed);
    expect(await owed(first, sid)).toEqual([]);
    expect((await first.api().get(path).expect(200)).body).toEqual({ pending: 0, failed: 0, recentFailures: [] });
  });
});

describe("deleting an app", () => {
  it("forgets the logouts still owed to it", async () => {
    const doomed = await rp.register(first);
    await first.container.infra.db.backchannelLogout.create({ data: { clientId: doomed.clientId, sub: "0190c5d4-7f3a-7b2c-9d1e-2f3a4b5c6d7e", sid: "s", status: "failed", attempts: 7 } });
    await first.api().delete(`/api/v1/applications/${doomed.id}`).expect(204);
    expect(await first.container.infra.db.backchannelLogout.count({ where: { clientId: doomed.clientId } })).toBe(0);
  });
});
