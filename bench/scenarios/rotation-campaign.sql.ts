import type { Pool, PoolClient } from "pg";

// The data of the rotation campaign, by hand in SQL: seeding it, copying it, the baseline's two
// statements, the counts that check both sides, and the clean-up.

/** Every 100th user is deactivated and another has no password (SSO only): both are skipped, not flagged. */
const DEACTIVATED = 37;
const NO_PASSWORD = 73;
// Never compared with anything; flagged users only need a password hash to exist.
const FAKE_HASH = `$2b$12$${"b".repeat(53)}`;
const COPY = "bench_rotation_copy";

/** The rule of Gatehouse's claim query: active, with a password, and allowed to use the local login. */
const ELIGIBLE = `u.status = 'active' AND u.password_hash IS NOT NULL AND NOT (u.kind = 'member' AND t.sso_enforced AND NOT u.sso_bypass)`;

export type Seeded = { slugPrefix: string; tenants: number; users: number };

/** Tenants spread over the regions, users with a mix of kinds, all created a minute ago. */
export async function seedTenantsAndUsers(pg: Pool, options: { slugPrefix: string; tenants: number; usersPerTenant: number; regions: string[] }): Promise<Seeded> {
  const client = await pg.connect();
  try {
    await client.query("BEGIN");
    await client.query(
      `INSERT INTO tenants (id, slug, name, region, mfa_required, created_at, updated_at)
       SELECT gen_random_uuid(), $1::text || n, 'Rotation Tenant ' || n, ($2::text[])[1 + n % cardinality($2::text[])], true,
              now() - interval '1 minute', now() - interval '1 minute'
       FROM generate_series(1, $3::int) AS n`,
      [options.slugPrefix, options.regions, options.tenants],
    );
    const users = await client.query(
      `INSERT INTO users (id, tenant_id, email, email_key, name, kind, status, deactivated_at, password_hash, password_changed_at, created_at, updated_at)
       SELECT gen_random_uuid(), t.id, 'user' || n || '@' || t.slug || '.example', 'user' || n || '@' || t.slug || '.example', 'User ' || n,
              (ARRAY['member', 'contractor', 'client']::"UserKind"[])[1 + n % 3],
              CASE WHEN n % 100 = ${DEACTIVATED} THEN 'deactivated'::"UserStatus" ELSE 'active'::"UserStatus" END,
              CASE WHEN n % 100 = ${DEACTIVATED} THEN now() END,
              CASE WHEN n % 100 = ${NO_PASSWORD} THEN NULL ELSE $2 END,
              now() - interval '1 minute', now() - interval '1 minute', now() - interval '1 minute'
       FROM tenants t CROSS JOIN generate_series(1, $3::int) AS n
       WHERE starts_with(t.slug, $1::text)`,
      [options.slugPrefix, FAKE_HASH, options.usersPerTenant],
    );
    await client.query("COMMIT");
    return { slugPrefix: options.slugPrefix, tenants: options.tenants, users: users.rowCount ?? 0 };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Settled tables, as a database in service has them: visibility map set, statistics fresh. */
export async function settle(pg: Pool, tables: string[]): Promise<void> {
  await pg.query(`VACUUM ANALYZE ${tables.join(", ")}`);
  // Nor does a checkpoint left over from the seeding land in the measurement (needs pg_checkpoint or superuser).
  await pg.query("CHECKPOINT").catch(() => undefined);
}

/** What a campaign over every tenant must reach: users it targets, and those it must flag and mail. */
export async function expectedCounts(pg: Pool, schema = "public"): Promise<{ targeted: number; eligible: number }> {
  const { rows } = await pg.query<{ targeted: string; eligible: string }>(
    `SELECT count(*) AS targeted, count(*) FILTER (WHERE ${ELIGIBLE}) AS eligible
     FROM ${schema}.users u JOIN ${schema}.tenants t ON t.id = u.tenant_id`,
  );
  return { targeted: Number(rows[0]?.targeted), eligible: Number(rows[0]?.eligible) };
}

/** Users flagged for rotation and rotation mails queued, as the tables say. */
export async function actualCounts(pg: Pool, schema = "public"): Promise<{ flagged: number; mails: number; sendAttempts: number }> {
  const { rows } = await pg.query<{ flagged: string; mails: string; attempts: string }>(
    `SELECT (SELECT count(*) FROM ${schema}.users WHERE password_rotation = 'reset_required') AS flagged,
            count(*) AS mails, coalesce(sum(attempts), 0) AS attempts
     FROM ${schema}.mail_outbox WHERE kind = 'password_rotation'`,
  );
  return { flagged: Number(rows[0]?.flagged), mails: Number(rows[0]?.mails), sendAttempts: Number(rows[0]?.attempts) };
}

/** A second copy of tenants and users (same rows, same indexes and key), with an empty outbox, for the baseline. */
export async function copyForBaseline(pg: Pool): Promise<string> {
  await pg.query(`DROP SCHEMA IF EXISTS ${COPY} CASCADE; CREATE SCHEMA ${COPY};
    CREATE TABLE ${COPY}.tenants (LIKE public.tenants INCLUDING ALL);
    CREATE TABLE ${COPY}.users (LIKE public.users INCLUDING ALL);
    CREATE TABLE ${COPY}.mail_outbox (LIKE public.mail_outbox INCLUDING ALL);
    ALTER TABLE ${COPY}.users ADD FOREIGN KEY (tenant_id) REFERENCES ${COPY}.tenants (id) ON DELETE RESTRICT ON UPDATE CASCADE;
    INSERT INTO ${COPY}.tenants SELECT * FROM public.tenants;
    INSERT INTO ${COPY}.users SELECT * FROM public.users;`);
  await settle(pg, [`${COPY}.tenants`, `${COPY}.users`, `${COPY}.mail_outbox`]);
  return COPY;
}

export type TenantMail = { tenantId: string; subject: string; text: string; html: string };

/**
 * The baseline: what the campaign does to users and the outbox, as one set-based statement pair in one
 * transaction. The mails are Gatehouse's own texts, one per tenant (they differ only in the address).
 * The INSERT repeats the eligibility rule instead of reading the flag just set: the statistics do not
 * know about that flag yet, and the planner would pick a nested loop (10 s instead of 3 s here).
 */
export async function flagAndQueueBySql(client: PoolClient, schema: string, campaignId: string, mails: TenantMail[]): Promise<void> {
  await client.query("BEGIN");
  try {
    await client.query(
      `UPDATE ${schema}.users u SET password_rotation = 'reset_required', updated_at = now()
       FROM ${schema}.tenants t WHERE t.id = u.tenant_id AND ${ELIGIBLE}`,
    );
    await client.query(
      `INSERT INTO ${schema}.mail_outbox (id, "to", subject, text, html, kind, tenant_id, dedupe_key)
       SELECT gen_random_uuid(), u.email, m.subject, m.text, m.html, 'password_rotation', u.tenant_id, 'rotation:' || $1 || ':' || u.id
       FROM ${schema}.users u JOIN ${schema}.tenants t ON t.id = u.tenant_id
       JOIN unnest($2::uuid[], $3::text[], $4::text[], $5::text[]) AS m (tenant_id, subject, text, html) ON m.tenant_id = t.id
       WHERE ${ELIGIBLE}`,
      [campaignId, mails.map((m) => m.tenantId), mails.map((m) => m.subject), mails.map((m) => m.text), mails.map((m) => m.html)],
    );
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

export async function tenantsForMail(pg: Pool, schema: string): Promise<Array<{ id: string; name: string; region: string }>> {
  return (await pg.query<{ id: string; name: string; region: string }>(`SELECT id, name, region FROM ${schema}.tenants`)).rows;
}

export async function dropCopy(pg: Pool): Promise<void> {
  await pg.query(`DROP SCHEMA IF EXISTS ${COPY} CASCADE`);
}

/**
 * Removes what the campaign left: its mails first (the outbox sender would keep retrying them), its
 * progress rows and audit events, then the seeded users and tenants.
 */
export async function removeCampaignData(pg: Pool, seeded: Seeded, campaignId: string | undefined): Promise<void> {
  await pg.query("DELETE FROM mail_outbox WHERE kind = 'password_rotation'");
  if (campaignId) {
    await pg.query("DELETE FROM rotation_campaigns WHERE id = $1", [campaignId]);
    await pg.query("DELETE FROM audit_events WHERE target_type = 'rotation_campaign' AND target_id = $1", [campaignId]);
  }
  const seededTenants = "SELECT id FROM tenants WHERE starts_with(slug, $1)";
  await pg.query(`DELETE FROM audit_events WHERE tenant_id IN (${seededTenants})`, [seeded.slugPrefix]);
  await pg.query(`DELETE FROM users WHERE tenant_id IN (${seededTenants})`, [seeded.slugPrefix]);
  await pg.query("DELETE FROM tenants WHERE starts_with(slug, $1)", [seeded.slugPrefix]);
}
