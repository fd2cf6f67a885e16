import type { BreachChecker } from "./breach-check";

/**
 * The one password policy (NIST SP 800-63B 3.1.1.2): length only, no composition rules, no truncation;
 * refuse common, context-derived, current and breached passwords, each refusal saying why.
 * Messages never contain the password.
 */

export const MIN_LENGTH_FLOOR = 8;
export const DEFAULT_MIN_LENGTH = 12;
export const MAX_LENGTH = 256;
/** Shorter context terms and list stems are ignored: "bob" inside a password says little about it. */
const MIN_TERM_LENGTH = 4;

export type PolicyRefusalCode = "too_short" | "too_long" | "common" | "context" | "same_as_current" | "breached" | "breach_check_unavailable";

export interface PolicyRefusal {
  code: PolicyRefusalCode;
  message: string;
}

export type PolicyResult =
  | {
      ok: true;
      normalised: string;
      /** Set when the breach lookup failed and the policy allowed the password anyway: audit it. */
      breachCheckUnavailable?: { error: string };
    }
  | { ok: false; reasons: PolicyRefusal[] };

export interface PasswordContext {
  email?: string;
  tenantName?: string;
  tenantSlug?: string;
  /** Needs `verifyCurrent` or the policy's `hasher`. */
  currentPasswordHash?: string;
  verifyCurrent?: (password: string) => Promise<boolean>;
}

export interface PasswordPolicyOptions {
  minLength: number;
  breachCheck?: BreachChecker;
  commonPasswords: ReadonlySet<string>;
  /** Lets `currentPasswordHash` be checked without a `verifyCurrent` callback. */
  hasher?: { verify(password: string, stored: string): Promise<boolean> };
}

export interface PasswordPolicy {
  readonly minLength: number;
  check(candidate: string, context?: PasswordContext): Promise<PolicyResult>;
}

/** NFKC, as hashed and stored: full-width, ligature and other compatibility forms become one spelling. */
export function normalisePassword(password: string): string {
  return password.normalize("NFKC");
}

const codePoints = (value: string): number => [...value].length;
const fold = (value: string): string => value.normalize("NFKC").toLowerCase();
const compact = (value: string): string => value.replace(/[\p{P}\p{S}\s]+/gu, "");
/** `dragon2024!` → `dragon`: a listed password with digits or symbols added is still that password. */
const withoutTrailingDigitsAndSymbols = (value: string): string => value.replace(/[\p{N}\p{P}\p{S}\s]+$/u, "");

function isCommon(folded: string, commonPasswords: ReadonlySet<string>): boolean {
  if (commonPasswords.has(folded)) return true;
  const base = withoutTrailingDigitsAndSymbols(folded);
  return base !== folded && codePoints(base) >= MIN_TERM_LENGTH && commonPasswords.has(base);
}

type ContextSource = "email" | "tenant";
type ContextTerm = { term: string; source: ContextSource };

/**
 * Context terms, folded (NFKC, lower case) with spaces, punctuation and symbols removed: the email's local
 * part, whole and each piece between punctuation (a person's names), the tenant name and the tenant slug.
 * Terms under 4 code points are dropped. The password, folded and stripped the same way, is refused when it
 * contains any term: "Acme-Corp 2024!" contains "acmecorp"; that covers "term with digits or symbols added".
 */
function contextTerms(context: PasswordContext): ContextTerm[] {
  const terms: ContextTerm[] = [];
  const add = (value: string, source: ContextSource) => {
    const term = compact(fold(value));
    if (codePoints(term) >= MIN_TERM_LENGTH) terms.push({ term, source });
  };
  if (context.email) {
    const at = context.email.lastIndexOf("@");
    const local = at > 0 ? context.email.slice(0, at) : context.email;
    add(local, "email");
    for (const piece of local.split(/[\p{P}\p{S}\s]+/u)) add(piece, "email");
  }
  if (context.tenantName) add(context.tenantName, "tenant");
  if (context.tenantSlug) add(context.tenantSlug, "tenant");
  return terms;
}

function contextRefusal(folded: string, context: PasswordContext): PolicyRefusal | null {
  const stripped = compact(folded);
  const matched = new Set(contextTerms(context).filter(({ term }) => stripped.includes(term)).map(({ source }) => source));
  if (matched.size === 0) return null;
  const what = [matched.has("email") ? "your email address" : "", matched.has("tenant") ? "your organisation's name" : ""];
  return {
    code: "context",
    message: `It contains ${what.filter(Boolean).join(" and ")}, which attackers try first.`,
  };
}

function lengthRefusal(normalised: string, minLength: number): PolicyRefusal | null {
  const length = codePoints(normalised);
  if (length < minLength) return { code: "too_short", message: `Too short: use at least ${minLength} characters.` };
  if (length > MAX_LENGTH) return { code: "too_long", message: `Too long: use at most ${MAX_LENGTH} characters.` };
  return null;
}

const COMMON_MESSAGE = "It is one of the most commonly used passwords (or one with digits or symbols added), which attackers try first.";
const SAME_AS_CURRENT_MESSAGE = "It is your current password: choose a new one.";
const UNAVAILABLE_MESSAGE = "It could not be checked against known data breaches just now: try again in a moment.";

function breachedMessage(count: number): string {
  const times = count === 1 ? "once" : `${count.toLocaleString("en")} times`;
  return `It has appeared in data breaches (${times}), so attackers already have it.`;
}

export function createPasswordPolicy(options: PasswordPolicyOptions): PasswordPolicy {
  const { minLength, breachCheck, commonPasswords, hasher } = options;
  if (!Number.isInteger(minLength) || minLength < MIN_LENGTH_FLOOR || minLength > MAX_LENGTH) {
    throw new RangeError(`password minLength must be an integer in ${MIN_LENGTH_FLOOR}..${MAX_LENGTH} (NIST SP 800-63B), got ${minLength}`);
  }

  async function isCurrent(normalised: string, context: PasswordContext): Promise<boolean> {
    if (context.verifyCurrent) return context.verifyCurrent(normalised);
    if (context.currentPasswordHash === undefined) return false;
    // Skipping the check silently would let a forced rotation keep the old password.
    if (!hasher) throw new Error("currentPasswordHash needs verifyCurrent or a policy hasher");
    return hasher.verify(normalised, context.currentPasswordHash);
  }

  async function breachVerdict(normalised: string, checker: BreachChecker): Promise<PolicyResult> {
    const breach = await checker.check(normalised);
    if ("unavailable" in breach) {
      if (checker.onUnavailable === "allow") return { ok: true, normalised, breachCheckUnavailable: { error: breach.error } };
      return { ok: false, reasons: [{ code: "breach_check_unavailable", message: UNAVAILABLE_MESSAGE }] };
    }
    if (breach.breached) return { ok: false, reasons: [{ code: "breached", message: breachedMessage(breach.count) }] };
    return { ok: true, normalised };
  }

  /**
   * Cheapest first. A length refusal stops everything (it also bounds the work of an over-long value);
   * common and context refusals are reported together; the current-password comparison (a bcrypt) and the
   * breach lookup (a network call, a hash prefix leaving) run only for an otherwise acceptable password.
   */
  async function check(candidate: string, context: PasswordContext = {}): Promise<PolicyResult> {
    const normalised = normalisePassword(candidate);
    const length = lengthRefusal(normalised, minLength);
    if (length) return { ok: false, reasons: [length] };

    const folded = normalised.toLowerCase();
    const reasons: PolicyRefusal[] = [];
    if (isCommon(folded, commonPasswords)) reasons.push({ code: "common", message: COMMON_MESSAGE });
    const fromContext = contextRefusal(folded, context);
    if (fromContext) reasons.push(fromContext);
    if (reasons.length > 0) return { ok: false, reasons };

    if (await isCurrent(normalised, context)) return { ok: false, reasons: [{ code: "same_as_current", message: SAME_AS_CURRENT_MESSAGE }] };
    return breachCheck ? breachVerdict(normalised, breachCheck) : { ok: true, normalised };
  }

  return { minLength, check };
}
