// Failures that mean "a dependency is unreachable right now" rather than "this request is wrong".
const CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "P1001", "P1002", "P1017", "P2024", "57P01", "57P03"]);
const NAMES = new Set(["MaxRetriesPerRequestError", "PrismaClientInitializationError", "ClusterAllFailedError"]);
// The last four are Redis Cluster's ways of saying a slot's master is gone or the cluster is re-forming.
const MESSAGES = /Command timed out|Connection is closed|Stream isn't writeable|Connection terminated|Can't reach database server|timeout exceeded when trying to connect|CLUSTERDOWN|Too many Cluster redirections|Cluster isn't ready|Failed to refresh slots cache/i;

/** True when the error (or any error in its cause chain) says PostgreSQL or Redis could not be reached. */
export function isDependencyUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 8; depth += 1) {
    const candidate = current as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
    const code = typeof candidate.code === "string" ? candidate.code : "";
    if (CODES.has(code) || code.startsWith("08")) return true;
    if (typeof candidate.name === "string" && NAMES.has(candidate.name)) return true;
    if (typeof candidate.message === "string" && MESSAGES.test(candidate.message)) return true;
    current = candidate.cause;
  }
  return false;
}
