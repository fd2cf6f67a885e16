import { createHash } from "node:crypto";
import { z } from "zod";
import { constantTimeEqual } from "../../platform/crypto";

/**
 * How many authorization requests one browser may have in flight (one per tab that began a login).
 * Beyond it the oldest drops: its callback is refused and the user starts again. The cap keeps the
 * cookie under ~250 bytes however often a page (or an attacker's) sends the browser to /sso/.../start.
 */
export const MAX_PENDING_TRANSACTIONS = 5;

const SEPARATOR = ".";
const BINDING = /^[A-Za-z0-9_-]{43}$/;

/** The cookie as we write it: up to the cap, oldest first. Anything else (tampered, truncated) counts as no flow at all. */
const bindingList = z
  .string()
  .max(MAX_PENDING_TRANSACTIONS * 44)
  .transform((value) => value.split(SEPARATOR))
  .pipe(z.array(z.string().regex(BINDING)).max(MAX_PENDING_TRANSACTIONS));

/**
 * What binds one authorization request to the browser that made it: a digest of its `state`, so the
 * cookie alone names no flow. A callback whose state has none in the browser's cookie (another browser,
 * or a page that planted an attacker's callback URL) is refused.
 */
export function transactionBindingOf(state: string): string {
  return createHash("sha256").update(`oidc-transaction:${state}`).digest("base64url");
}

/** The bindings a transaction cookie carries, oldest first; none for a missing or malformed cookie. */
export function parseTransactions(cookie: string | undefined): string[] {
  if (cookie === undefined || cookie === "") return [];
  const parsed = bindingList.safeParse(cookie);
  return parsed.success ? parsed.data : [];
}

export function serializeTransactions(bindings: readonly string[]): string {
  return bindings.join(SEPARATOR);
}

/** Adds the flow named by `state` as the newest; the oldest drop beyond the cap. */
export function withTransaction(bindings: readonly string[], state: string): string[] {
  return [...bindings, transactionBindingOf(state)].slice(-MAX_PENDING_TRANSACTIONS);
}

/** Whether the browser holds the binding of the flow named by `state`; every entry is compared, in constant time. */
export function holdsTransaction(bindings: readonly string[], state: string): boolean {
  const binding = transactionBindingOf(state);
  return bindings.reduce((found, held) => constantTimeEqual(held, binding) || found, false);
}

/** The bindings left once the flow named by `state` has had its callback; the others stay pending. */
export function withoutTransaction(bindings: readonly string[], state: string): string[] {
  const binding = transactionBindingOf(state);
  return bindings.filter((held) => !constantTimeEqual(held, binding));
}
