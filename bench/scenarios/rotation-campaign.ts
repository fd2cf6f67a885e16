import { randomBytes, randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { adminCall } from "../lib/admin-api";
import { loadBuild } from "../lib/gatehouse";
import { figure, type ScenarioResult } from "../lib/report";
import type { BenchContext, Scenario } from "../lib/scenario";
import {
  actualCounts, copyForBaseline, dropCopy, expectedCounts, flagAndQueueBySql, removeCampaignData, seedTenantsAndUsers, settle, tenantsForMail,
  type Seeded, type TenantMail,
} from "./rotation-campaign.sql";

type RotationModule = typeof import("../../src/passwords/rotation.service");

const NAME = "rotation-campaign";
const TENANTS = 1_000;
const USERS_PER_TENANT = 100;
const GOAL_SECONDS = 60;
const POLL_MS = 2_000;
const GIVE_UP_SECONDS = 300;

type CampaignView = {
  id: string; status: string; targeted: number; flagged: number; notified: number; completed: number;
  skippedDeactivated: number; skippedSsoOnly: number; createdAt: string; finishedAt: string | null;
};
type Progress = { second: number; flagged: number; notified: number };
type Counts = { targeted: number; eligible: number };

/** The baseline: the same flagging and mail queueing as two SQL statements in one transaction, on a copy. */
async function measureBaseline(context: BenchContext, expected: Counts) {
  const schema = await copyForBaseline(context.pg);
  const { rotationNotice } = loadBuild<RotationModule>("passwords/rotation.service.js");
  const client = await context.pg.connect();
  let seconds: number;
  try {
    const started = performance.now();
    const mails: TenantMail[] = (await tenantsForMail(context.pg, schema)).map((tenant) => {
      const mail = rotationNotice({ regionUrls: context.gatehouse.regionUrls }, tenant, "", "reset_required");
      return { tenantId: tenant.id, subject: mail.subject, text: mail.text, html: mail.html ?? "" };
    });
    await flagAndQueueBySql(client, schema, randomUUID(), mails);
    seconds = (performance.now() - started) / 1000;
  } finally {
    client.release();
  }
  const counts = await actualCounts(context.pg, schema);
  // Dropped before the campaign, so that nothing of the copy (autovacuum, dirty pages) weighs on it.
  await dropCopy(context.pg);
  await settle(context.pg, ["users", "mail_outbox"]);
  const problem = counts.flagged !== expected.eligible || counts.mails !== expected.eligible
    ? `baseline flagged ${counts.flagged} and queued ${counts.mails}, expected ${expected.eligible}` : undefined;
  return { seconds, counts, problem };
}

/** Starts the campaign over every tenant and polls it until it is no longer running. */
async function runCampaign(context: BenchContext, onStart: (id: string) => void) {
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const body = { tenants: "all", mode: "reset_required", revokeSessions: true, notify: true, reason: "bench" };
  const { id } = await adminCall<{ id: string }>(context, "POST", "/password-rotations", body, 202);
  onStart(id);
  const progress: Progress[] = [];
  for (;;) {
    await sleep(POLL_MS);
    const view = await adminCall<CampaignView>(context, "GET", `/password-rotations/${id}`, undefined, 200);
    progress.push({ second: Math.round(elapsed()), flagged: view.flagged, notified: view.notified });
    if (view.status !== "running") return { view, wallSeconds: elapsed(), progress };
    if (elapsed() > GIVE_UP_SECONDS) throw new Error(`campaign still running after ${GIVE_UP_SECONDS} s: ${view.flagged} of ${view.targeted} flagged`);
  }
}

type Measured = {
  seeded: Seeded; seedSeconds: number; expected: Counts;
  baseline: Awaited<ReturnType<typeof measureBaseline>>;
  campaign: Awaited<ReturnType<typeof runCampaign>>;
  actual: Awaited<ReturnType<typeof actualCounts>>;
};

async function runScenario(context: BenchContext): Promise<ScenarioResult> {
  const { pg } = context;
  let seeded: Seeded | undefined;
  let campaignId: string | undefined;
  let finished = false;
  try {
    console.log(`${NAME}: seeding ${TENANTS * USERS_PER_TENANT} users in ${TENANTS} tenants, then the SQL baseline, then the campaign...`);
    const seedStarted = performance.now();
    const regions = Object.keys(context.gatehouse.regionUrls);
    seeded = await seedTenantsAndUsers(pg, { slugPrefix: `rot-${randomBytes(3).toString("hex")}-`, tenants: TENANTS, usersPerTenant: USERS_PER_TENANT, regions });
    await settle(pg, ["tenants", "users"]);
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    const expected = await expectedCounts(pg);
    const baseline = await measureBaseline(context, expected);
    const campaign = await runCampaign(context, (id) => (campaignId = id));
    finished = true;
    return campaignResult({ seeded, seedSeconds, expected, baseline, campaign, actual: await actualCounts(pg) });
  } finally {
    if (campaignId && !finished) await adminCall(context, "POST", `/password-rotations/${campaignId}/cancel`, {}, 200).catch(() => undefined);
    await dropCopy(pg).catch((error: unknown) => console.error(`${NAME} clean-up: ${String(error)}`));
    if (seeded) await removeCampaignData(pg, seeded, campaignId).catch((error: unknown) => console.error(`${NAME} clean-up: ${String(error)}`));
  }
}

function campaignResult(m: Measured): ScenarioResult {
  const { expected, baseline, actual, campaign: { view } } = m;
  const seconds = view.finishedAt ? (Date.parse(view.finishedAt) - Date.parse(view.createdAt)) / 1000 : Number.NaN;
  const n = (value: number) => value.toLocaleString("en-US");
  const problems = [
    view.status === "completed" ? undefined : `campaign ended ${view.status}`,
    view.targeted === expected.targeted ? undefined : `campaign targeted ${view.targeted}, expected ${expected.targeted}`,
    view.flagged === expected.eligible && actual.flagged === expected.eligible ? undefined
      : `campaign flagged ${view.flagged} (users table: ${actual.flagged}), expected ${expected.eligible}`,
    actual.mails === expected.eligible ? undefined : `${actual.mails} rotation mails queued, expected ${expected.eligible}`,
    baseline.problem,
  ].filter((p) => p !== undefined);
  const result: ScenarioResult = {
    name: NAME,
    description: "POST /api/v1/password-rotations over all tenants (reset_required, revokeSessions, notify) against UPDATE + INSERT ... SELECT in one transaction",
    method: `${n(m.seeded.users)} seeded users in ${n(TENANTS)} tenants (${n(expected.targeted)} targeted with the other scenarios' users), baseline first, then the campaign, once each`,
    figures: [
      figure("seconds", "lower", 1, seconds, baseline.seconds, { description: `< ${GOAL_SECONDS} s`, met: seconds < GOAL_SECONDS }),
      figure("users/s", "higher", 0, view.targeted / seconds, expected.targeted / baseline.seconds),
    ],
    notes: [
      `seconds: the campaign's createdAt to finishedAt (every user flagged and mailed, sessions revoked); polled every ${POLL_MS / 1000} s, seen done after ${m.campaign.wallSeconds.toFixed(1)} s`,
      `checked: ${n(view.flagged)} flagged and ${n(actual.mails)} mails queued = ${n(expected.eligible)} eligible (skipped: ${view.skippedDeactivated} deactivated, ${view.skippedSsoOnly} SSO only)`,
      "baseline: the same rows on a copy of tenants and users; it writes no audit events or progress rows and revokes no sessions, which the campaign does",
      `outbox sender (SMTP_URL is a closed port) made ${n(actual.sendAttempts)} failed send attempts while the campaign ran`,
    ],
    details: { seeded: m.seeded, seedSeconds: m.seedSeconds, expected, baseline, gatehouse: { seconds, ...m.campaign }, actual },
  };
  if (problems.length > 0) result.invalid = problems.join("; ");
  return result;
}

export const rotationCampaign: Scenario = {
  name: NAME,
  description: "a password-rotation campaign over 100,000 users in 1,000 tenants",
  budgetSeconds: () => 150,
  run: (context) => runScenario(context),
};
