import type { AuditStore } from "../audit/audit.store";
import type { Clock } from "../platform/clock";
import type { Db } from "../platform/db/prisma";
import type { Logger } from "../platform/logger";
import type { OutboxStore } from "../platform/mail/outbox.store";
import type { UserStore } from "../users/user.store";
import { summariseStored, type CertificateSummary } from "./certificates";

/** Days before expiry at which the tenant hears of it; 0 means "has expired". */
export const ALERT_THRESHOLDS = [30, 7, 1, 0] as const;
const DAY_MS = 24 * 60 * 60 * 1000;

type Deps = { db: Db; clock: Clock; logger: Logger; auditStore: AuditStore; userStore: UserStore; outbox: OutboxStore; intervalMs?: number };

/** The tightest threshold a certificate has reached, or null while it is more than 30 days away. */
export function thresholdFor(daysLeft: number): number | null {
  if (daysLeft < 0) return 0;
  const reached = ALERT_THRESHOLDS.filter((days) => days > 0 && daysLeft <= days);
  return reached.length > 0 ? Math.min(...reached) : null;
}

/**
 * The daily certificate-expiry check: for each enabled SAML connection, each signing certificate that
 * has reached a threshold (30, 7, 1 days before, and expired) is audited and mailed to the tenant's
 * admins and security contact, once per certificate and threshold. The alert row, the audit event and
 * the mails commit together; its primary key makes concurrent instances send each alert once.
 */
export function createCertificateAlertWorker(deps: Deps) {
  const intervalMs = deps.intervalMs ?? DAY_MS;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;

  async function alertOnce(connection: { id: string; tenantId: string; idpEntityId: string | null }, cert: CertificateSummary, threshold: number): Promise<boolean> {
    return deps.db.$transaction(async (tx) => {
      const inserted = await tx.$executeRaw`
        INSERT INTO sso_certificate_alerts (connection_id, fingerprint, days_before)
        VALUES (${connection.id}::uuid, ${cert.fingerprint256}, ${threshold})
        ON CONFLICT DO NOTHING`;
      if (inserted === 0) return false;
      const tenant = await tx.tenant.findUniqueOrThrow({ where: { id: connection.tenantId } });
      await deps.auditStore.insert(tx, { actor: { type: "system", id: "certificate-expiry" } }, {
        type: "sso.certificate.expiring", tenantId: tenant.id, target: { type: "sso_connection", id: connection.id },
        data: { connectionId: connection.id, fingerprint256: cert.fingerprint256, notAfter: cert.notAfter, daysLeft: cert.daysLeft, threshold },
      });
      const admins = await deps.userStore.listActiveAdmins(tx, tenant.id);
      const recipients = new Set([...admins.map((a) => a.email), ...(tenant.securityContactEmail ? [tenant.securityContactEmail] : [])]);
      const subject = threshold === 0
        ? `The SSO signing certificate of ${tenant.name} has expired`
        : `The SSO signing certificate of ${tenant.name} expires in ${Math.max(cert.daysLeft, 0)} day(s)`;
      await deps.outbox.enqueueMany(tx, [...recipients].map((to) => ({
        to, subject, kind: "sso_certificate_expiry", tenantId: tenant.id,
        dedupeKey: `sso-cert:${connection.id}:${cert.fingerprint256}:${threshold}:${to.toLowerCase()}`,
        text: noticeText({ tenantName: tenant.name, idp: connection.idpEntityId ?? "", cert, threshold }),
      })));
      return true;
    });
  }

  /** One pass over every enabled SAML connection; returns how many alerts were given. */
  async function runOnce(): Promise<number> {
    const now = deps.clock.now();
    let given = 0;
    let afterId: string | undefined;
    for (;;) {
      const rows = await deps.db.ssoConnection.findMany({
        where: { type: "saml", enabled: true, ...(afterId ? { id: { gt: afterId } } : {}) },
        orderBy: { id: "asc" }, take: 200,
        select: { id: true, tenantId: true, idpEntityId: true, certificates: true },
      });
      for (const row of rows) {
        for (const cert of summariseStored(row.certificates, now)) {
          const threshold = cert.fingerprint256 ? thresholdFor(cert.daysLeft) : null;
          if (threshold !== null && (await alertOnce(row, cert, threshold))) given += 1;
        }
        afterId = row.id;
      }
      if (rows.length < 200) return given;
    }
  }

  function schedule(delayMs: number): void {
    timer = setTimeout(() => {
      running = runOnce()
        .catch((error: unknown) => {
          deps.logger.error({ err: error }, "certificate expiry check failed");
          return 0;
        })
        .finally(() => {
          running = undefined;
          if (timer) schedule(intervalMs);
        });
    }, delayMs);
    timer.unref();
  }

  return {
    runOnce,
    /** First pass shortly after start, then once per interval. */
    start(): void {
      schedule(5_000);
    },
    async stop(): Promise<void> {
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}

function noticeText(notice: { tenantName: string; idp: string; cert: CertificateSummary; threshold: number }): string {
  const when = notice.threshold === 0 ? `expired on ${notice.cert.notAfter}` : `expires on ${notice.cert.notAfter} (in ${Math.max(notice.cert.daysLeft, 0)} day(s))`;
  return [
    `A signing certificate of ${notice.tenantName}'s identity provider ${when}.`,
    `Identity provider: ${notice.idp}`,
    `Certificate: ${notice.cert.subject}, SHA-256 ${notice.cert.fingerprint256}`,
    "",
    "Once it expires, single sign-on through this identity provider stops working. Add the new certificate",
    "to the SSO connection (several may be listed during a rotation), then remove the old one.",
    "Accounts on the bypass list can still sign in through the regional login URL.",
  ].join("\n");
}
