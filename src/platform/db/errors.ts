/** Prisma reports a unique-constraint violation as P2002 (PostgreSQL 23505 underneath). */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "P2002" || code === "23505";
}
