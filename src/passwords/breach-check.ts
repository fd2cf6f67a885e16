import { createHash } from "node:crypto";

/**
 * Breached-password lookup through the Have I Been Pwned range API (k-anonymity): only the first five hex
 * characters of the password's SHA-1 leave the process; the provider answers with every suffix it knows
 * under that prefix and the match is made here. Nothing in this module logs.
 */

export const DEFAULT_BREACH_RANGE_URL = "https://api.pwnedpasswords.com/range/";
export const DEFAULT_BREACH_TIMEOUT_MS = 2000;

/** What to do with a new password when the breach lookup cannot be made (timeout, network, HTTP error). */
export type BreachUnavailablePolicy = "allow" | "refuse";

export type BreachCheckResult = { breached: boolean; count: number } | { unavailable: true; error: string };

export interface BreachChecker {
  readonly onUnavailable: BreachUnavailablePolicy;
  /** `password` as it will be stored: the policy passes it NFKC-normalised. */
  check(password: string): Promise<BreachCheckResult>;
}

export interface BreachCheckerOptions {
  /** The prefix is appended to this; a missing trailing slash is added. */
  rangeUrl?: string;
  timeoutMs?: number;
  onUnavailable: BreachUnavailablePolicy;
  fetchImpl?: typeof fetch;
}

const PREFIX_LENGTH = 5;
const SUFFIX = /^[0-9A-F]{35}$/;

function sha1Hex(password: string): string {
  return createHash("sha1").update(password, "utf8").digest("hex").toUpperCase();
}

function resolveRangeUrl(rangeUrl: string): string {
  if (!URL.canParse(rangeUrl) || !/^https?:$/.test(new URL(rangeUrl).protocol)) {
    throw new Error(`breach check rangeUrl must be an http(s) URL, got "${rangeUrl}"`);
  }
  return rangeUrl.endsWith("/") ? rangeUrl : `${rangeUrl}/`;
}

/** `SUFFIX:COUNT` per line. Padding entries (count 0) are not breaches. Null when no line parses. */
function findSuffix(body: string, suffix: string): { count: number } | null {
  let parsedAny = false;
  let count = 0;
  for (const line of body.split(/\r?\n/)) {
    const [lineSuffix, lineCount] = line.trim().split(":");
    if (!lineSuffix || !lineCount || !SUFFIX.test(lineSuffix.toUpperCase()) || !/^\d+$/.test(lineCount)) continue;
    parsedAny = true;
    if (lineSuffix.toUpperCase() === suffix) count = Number(lineCount);
  }
  return parsedAny ? { count } : null;
}

function describeFailure(err: unknown, timedOut: boolean, timeoutMs: number): string {
  if (timedOut) return `no answer within ${timeoutMs} ms`;
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === "string") return `network error ${cause.code}`;
  if (typeof cause?.message === "string") return `network error: ${cause.message}`;
  return err instanceof Error ? `network error: ${err.message}` : "network error";
}

export function createBreachChecker(options: BreachCheckerOptions): BreachChecker {
  const rangeUrl = resolveRangeUrl(options.rangeUrl ?? DEFAULT_BREACH_RANGE_URL);
  const timeoutMs = options.timeoutMs ?? DEFAULT_BREACH_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new RangeError(`breach check timeoutMs must be a positive integer, got ${timeoutMs}`);
  if (options.onUnavailable !== "allow" && options.onUnavailable !== "refuse") {
    throw new Error(`breach check onUnavailable must be "allow" or "refuse", got "${String(options.onUnavailable)}"`);
  }
  const fetchImpl = options.fetchImpl ?? fetch;

  async function check(password: string): Promise<BreachCheckResult> {
    const hash = sha1Hex(password);
    const prefix = hash.slice(0, PREFIX_LENGTH);
    const suffix = hash.slice(PREFIX_LENGTH);
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    try {
      const response = await fetchImpl(`${rangeUrl}${prefix}`, {
        method: "GET",
        // Padding hides from an observer of the TLS stream how many suffixes the prefix has.
        headers: { "Add-Padding": "true", Accept: "text/plain" },
        signal: controller.signal,
        redirect: "error",
      });
      if (!response.ok) {
        await response.body?.cancel();
        return { unavailable: true, error: `HTTP ${response.status}` };
      }
      // Read under the same timer: a server that stalls mid-answer is unavailable too.
      const body = await response.text();
      const found = findSuffix(body, suffix);
      if (!found) return { unavailable: true, error: "response held no SUFFIX:COUNT lines" };
      return { breached: found.count > 0, count: found.count };
    } catch (err) {
      return { unavailable: true, error: describeFailure(err, timedOut, timeoutMs) };
    } finally {
      clearTimeout(timer);
    }
  }

  return { onUnavailable: options.onUnavailable, check };
}
