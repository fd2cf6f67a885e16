import { createPrivateDatabase } from "../../support/private-database";
import { createAuditStore } from "../../../src/audit/audit.store";
import { createRotationCampaignStore } from "../../../src/passwords/rotation-campaign.store";
import { createRotationWorker } from "../../../src/passwords/rotation-campaign.worker";
import type { Db } from "../../../src/platform/db/prisma";
import { createOutboxStore } from "../../../src/platform/mail/outbox.store";
import { startTestApp, type TestApp } from "../../support/harness";

export type Outcome = "flagged" | "skipped_deactivated" | "skipped_sso_only";
export type Kind = "member" | "contractor" | "client";
export type SeededUser = { id: string; email: string; tenantId: string; kind: Kind; expected: Outcome };
export type UserSpec = { kind: Kind; status?: "active" | "deactivated"; password?: boolean; ssoBypass?: boolean; expected: Outcome };

// Any non-null string is a "local password" to the campaign; nobody logs in with these.
const FAKE_HASH = "$2b$04$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0";


/**
 * A Gatehouse on a database of its own. A worker's runOnce processes every running campaign of its
 * database, and an "all" campaign flags every user in it: neither may reach other suites' rows.
 */
export async function startPrivateApp(label: string): Promise<{ t: TestApp; close(): Promise<void> }> {
  const database = await createPrivateDatabase(label);
  const t = await startTestApp({ DATABASE_URL: database.url });
  return {
    t,
    async close() {
      await t.close();
      await database.drop();
    },
  };
}

/** Inserts users straight into the database (fast, any mix); returns them with the outcome a campaign should give. */
export async function seedUsers(db: Db, tenant: { id: string; slug: string }, label: string, count: number, spec: UserSpec): Promise<SeededUser[]> {
  const emails = Array.from({ length: count }, (_, i) => `${label}-${i}@${tenant.slug}.example`);
  const deactivated = spec.status === "deactivated";
  await db.user.createMany({
    data: emails.map((email) => ({
      tenantId: tenant.id, email, emailKey: email, name: label, kind: spec.kind,
      status: spec.status ?? "active", deactivatedAt: deactivated ? new Date() : null,
      ssoBypass: spec.ssoBypass ?? false, passwordHash: spec.password === false ? null : FAKE_HASH,
    })),
  });
  const rows = await db.user.findMany({ where: { tenantId: tenant.id, email: { in: emails } }, orderBy: { id: "asc" } });
  return rows.map((row) => ({ id: row.id, email: row.email, tenantId: row.tenantId, kind: row.kind, expected: spec.expected }));
}

/** The counts GET /api/v1/password-rotations/{id} must report once the campaign is done. */
export function expectedCounts(users: SeededUser[]) {
  const count = (outcome: Outcome) => users.filter((u) => u.expected === outcome).length;
  return { targeted: users.length, flagged: count("flagged"), skippedDeactivated: count("skipped_deactivated"), skippedSsoOnly: count("skipped_sso_only") };
}

export function startSession(t: TestApp, user: { id: string; tenantId: string }): Promise<{ token: string }> {
  return t.container.sessions.startSession({
    user: { ...user, email: "someone@example.test", name: "Someone" }, tenant: { slug: "any", region: "us", sessionIdleMinutes: 60, sessionAbsoluteHours: 12 },
    method: "password", assurance: "aal2", amr: ["pwd", "otp"], ip: "203.0.113.9", userAgent: "jest",
  });
}

/** The rotation notices a campaign queued (its dedupe keys are `rotation:<campaign>:<user>`). */
export function campaignMails(db: Db, campaignId: string) {
  return db.mailOutbox.findMany({ where: { dedupeKey: { startsWith: `rotation:${campaignId}:` } } });
}

type WorkerDeps = Parameters<typeof createRotationWorker>[0];

/**
 * A rotation worker of the app's own stores, as a second instance would build it; `db` may be a
 * wrapper that fails on purpose. The worker only uses the deps listed here.
 */
export function rotationWorkerFor(t: TestApp, options: { db?: Db; batchSize?: number; campaigns?: WorkerDeps["campaigns"]; maxIdleMs?: number } = {}) {
  const { infra } = t.container;
  const deps = {
    db: options.db ?? infra.db, clock: infra.clock, logger: infra.logger, regionUrls: infra.config.regionUrls,
    outbox: createOutboxStore(), auditStore: createAuditStore(), sessions: t.container.sessions,
    campaigns: options.campaigns ?? createRotationCampaignStore(), batchSize: options.batchSize ?? 100, pollMs: 50,
    ...(options.maxIdleMs === undefined ? {} : { maxIdleMs: options.maxIdleMs }),
  };
  return createRotationWorker(deps as WorkerDeps);
}
