import type { Db } from "../../src/platform/db/prisma";

/**
 * Mails queued in the durable outbox (the test app runs no sender), rendered as header lines plus
 * the text body so tests can read them like a mail.
 */
export async function queuedMails(db: Db, where: { to?: string; subject?: string; kind?: string }): Promise<string[]> {
  const rows = await db.mailOutbox.findMany({ where, orderBy: { createdAt: "asc" } });
  return rows.map((row) => `To: ${row.to}\nSubject: ${row.subject}\n\n${row.text}`);
}
