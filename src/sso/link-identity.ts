import type { Db, DbTx, DbWrite } from "../platform/db/prisma";
import type { TenantRow } from "../tenants/tenant.store";
import { emailKeyOf } from "../users/user.schemas";
import type { UserStore } from "../users/user.store";
import type { SsoConnectionRow } from "./connection.store";
import type { ExternalIdentityStore } from "./external-identity.store";
import { NoSsoAccount } from "./sso-errors";

/** What an identity provider asserted about the user, after the protocol checks passed. */
export type ExternalClaims = {
  /** SAML NameID or OIDC `sub`: the key of the identity, stable at the IdP. */
  subject: string;
  email?: string;
  /** SAML: the signed assertion stands for it. OIDC: only `email_verified: true`. */
  emailVerified: boolean;
  firstName?: string;
  lastName?: string;
  name?: string;
  /** Group names the IdP asserted (mapped attribute or claim); cleaned by groupsOf. */
  groups?: string[];
};

const MAX_GROUPS = 100;
const MAX_GROUP_LENGTH = 256;

/**
 * Group names as asserted: strings only, trimmed, each at most 256 characters (a longer one is dropped,
 * not cut: a cut name could be another group's), without repeats, at most 100. Undefined when none.
 */
export function groupsOf(values: unknown): string[] | undefined {
  const list = Array.isArray(values) ? values : [values];
  const groups = [...new Set(list.filter((v): v is string => typeof v === "string").map((v) => v.trim()).filter((v) => v.length > 0 && v.length <= MAX_GROUP_LENGTH))];
  return groups.length > 0 ? groups.slice(0, MAX_GROUPS) : undefined;
}

export type LinkOutcome = { userId: string; email: string; name: string; identityId: string; how: "linked" | "first_link" | "provisioned" };

type Deps = { userStore: UserStore; identities: ExternalIdentityStore };

/**
 * The user of an identity linked before, and the last-login stamps due (statements not yet run, for the
 * caller to batch with its audit row). Null for an identity seen for the first time. This is every login
 * but the first, so it needs no transaction: one read here, one batch of writes after.
 */
export async function findLinkedUser(
  deps: Deps,
  db: Db | DbTx,
  input: { tenant: TenantRow; connection: SsoConnectionRow; claims: ExternalClaims; at: Date },
): Promise<{ outcome: LinkOutcome; stamps: DbWrite[] } | null> {
  const { tenant, connection, claims, at } = input;
  const known = await deps.identities.findBySubject(db, connection.id, claims.subject);
  if (!known) return null;
  const { user } = known;
  if (user.tenantId !== tenant.id || user.status !== "active") throw new NoSsoAccount("user_deactivated");
  return {
    outcome: { userId: user.id, email: user.email, name: user.name, identityId: known.id, how: "linked" },
    stamps: deps.identities.loginStamps(db, known, connection, at),
  };
}

/**
 * Finds the user an SSO login stands for, inside the caller's transaction.
 * 1. A known (connection, subject) is that user, if still active.
 * 2. Otherwise the verified email may link to an existing active user of the tenant, when its domain is
 *    one of the tenant's domains (if it lists any) and the user has no other account at this IdP.
 * 3. Otherwise, with JIT provisioning on, a member is created from the asserted attributes.
 */
export async function resolveSsoUser(
  deps: Deps,
  tx: DbTx,
  input: { tenant: TenantRow; connection: SsoConnectionRow; claims: ExternalClaims; at: Date },
): Promise<LinkOutcome> {
  const { tenant, connection, claims, at } = input;
  // Linked meanwhile by a concurrent first login of the same person.
  const known = await findLinkedUser(deps, tx, input);
  if (known) {
    for (const stamp of known.stamps) await stamp;
    return known.outcome;
  }

  const email = usableEmail(tenant, claims);
  const existing = await deps.userStore.findByEmail(tx, tenant.id, email);
  if (existing) {
    if (existing.status !== "active") throw new NoSsoAccount("user_deactivated");
    // Another subject already holds this user: a reassigned or spoofed email must not take the account over.
    if (await deps.identities.findForUser(tx, connection.id, existing.id)) throw new NoSsoAccount("user_linked_elsewhere");
    const identity = await deps.identities.link(tx, { connectionId: connection.id, tenantId: tenant.id, userId: existing.id, subject: claims.subject, at });
    await deps.identities.connectionStamp(tx, connection, at);
    return { userId: existing.id, email: existing.email, name: existing.name, identityId: identity.id, how: "first_link" };
  }

  if (connection.provisioning !== "jit") throw new NoSsoAccount("no_matching_user");
  const created = await deps.userStore.create(tx, tenant.id, { email, name: displayName(claims, email), kind: "member", role: "user", ssoBypass: false });
  const identity = await deps.identities.link(tx, { connectionId: connection.id, tenantId: tenant.id, userId: created.id, subject: claims.subject, at });
  await deps.identities.connectionStamp(tx, connection, at);
  return { userId: created.id, email: created.email, name: created.name, identityId: identity.id, how: "provisioned" };
}

function usableEmail(tenant: TenantRow, claims: ExternalClaims): string {
  const email = claims.email?.normalize("NFKC").trim();
  if (!email || !/^[^\s@]+@[^\s@]+$/.test(email)) throw new NoSsoAccount("email_missing");
  if (!claims.emailVerified) throw new NoSsoAccount("email_unverified");
  const domain = emailKeyOf(email).split("@").pop()!;
  if (tenant.emailDomains.length > 0 && !tenant.emailDomains.some((d) => d.toLowerCase() === domain)) throw new NoSsoAccount("email_domain_not_allowed");
  return email;
}

function displayName(claims: ExternalClaims, email: string): string {
  const full = claims.name?.trim() || [claims.firstName, claims.lastName].filter((part) => part?.trim()).join(" ").trim();
  return (full || email.split("@")[0]!).slice(0, 200);
}
