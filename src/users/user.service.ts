import type { AuditContext, AuditEventType } from "../audit/audit-event";
import type { AuditStore } from "../audit/audit.store";
import { changedFields } from "../audit/diff";
import type { Clock } from "../platform/clock";
import type { PasswordHasher } from "../passwords/password-hasher";
import type { Db, DbTx } from "../platform/db/prisma";
import type { TenantRow } from "../tenants/tenant.store";
import { isUniqueViolation } from "../platform/db/errors";
import { AppError, notFound } from "../platform/errors";
import { decodeCursor, toPage, UUID_PATTERN, type Page } from "../platform/pagination";
import type { UserCreateInput, UserUpdateInput } from "./user.schemas";
import type { UserListFilter, UserRow, UserStore } from "./user.store";
import { toUserView, type UserView } from "./user.view";

type Deps = {
  db: Db;
  clock: Clock;
  userStore: UserStore;
  auditStore: AuditStore;
  hasher: Pick<PasswordHasher, "hash">;
  /** Full password policy for passwords an admin sets; absent in narrow unit wiring. */
  checkPassword?: (password: string, user: { email: string }, tenant: TenantRow) => Promise<string>;
  /** Sends a set-password link to a new local user without a password, inside the creating transaction. */
  invite?: (tx: DbTx, user: UserRow, tenant: TenantRow) => Promise<void>;
  /** Ends every session of a user; deactivation and password changes call it. */
  revokeUserSessions: (userId: string) => Promise<number>;
  /** Unused recovery codes of a user, for the view of one user; absent in narrow unit wiring. */
  countRecoveryCodes?: (userId: string) => Promise<number>;
};
type TenantRef = TenantRow;

const emailTaken = (email: string) => new AppError("user_email_taken", `A user with the email ${email} already exists in this tenant`);

export function createUserService(deps: Deps) {
  const { db, clock, userStore, auditStore } = deps;

  async function requireUser(tenant: TenantRef, id: string): Promise<UserRow> {
    const user = UUID_PATTERN.test(id) ? await userStore.findInTenant(db, tenant.id, id) : null;
    if (!user) throw notFound("User");
    return user;
  }

  async function checked(password: string, user: { email: string }, tenant: TenantRow): Promise<string> {
    return deps.checkPassword ? deps.checkPassword(password, user, tenant) : password;
  }

  return {
    requireUser,

    /** One user, with what support staff ask about when a user is stuck at the second factor. */
    async getUser(tenant: TenantRef, id: string): Promise<UserView & { recoveryCodesLeft?: number | null }> {
      const user = await requireUser(tenant, id);
      if (!deps.countRecoveryCodes) return toUserView(user);
      return { ...toUserView(user), recoveryCodesLeft: user.totpSecret ? await deps.countRecoveryCodes(user.id) : null };
    },

    async createUser(tenant: TenantRef, input: UserCreateInput, context: AuditContext): Promise<UserView> {
      const { password, ...fields } = input;
      // Checked and hashed before the transaction: bcrypt time must not hold a database connection.
      const hashed = password ? { hash: await deps.hasher.hash(await checked(password, input, tenant)), at: clock.now() } : undefined;
      try {
        const user = await db.$transaction(async (tx) => {
          const created = await userStore.create(tx, tenant.id, fields, hashed);
          if (!hashed && deps.invite) await deps.invite(tx, created, tenant);
          await auditStore.insert(tx, context, { type: "user.created", tenantId: tenant.id, target: { type: "user", id: created.id }, data: { after: toUserView(created) } });
          return created;
        });
        return toUserView(user);
      } catch (error) {
        if (isUniqueViolation(error)) throw emailTaken(input.email);
        throw error;
      }
    },

    /** Status changes are lifecycle events (deactivate keeps every row; reactivate restores access). */
    async updateUser(tenant: TenantRef, id: string, input: UserUpdateInput, context: AuditContext): Promise<UserView> {
      const user = await requireUser(tenant, id);
      const { status, password, ...fields } = input;
      const statusChange = status && status !== user.status ? { status, deactivatedAt: status === "deactivated" ? clock.now() : null } : undefined;
      const hashed = password ? { hash: await deps.hasher.hash(await checked(password, { email: input.email ?? user.email }, tenant)), at: clock.now() } : undefined;
      try {
        const updated = await db.$transaction(async (tx) => {
          const row = await userStore.update(tx, user.id, fields, { status: statusChange, password: hashed });
          const diff = changedFields(toUserView(user), toUserView(row));
          if (diff) await auditStore.insert(tx, context, { type: eventFor(statusChange?.status), tenantId: tenant.id, target: { type: "user", id: user.id }, data: diff });
          if (hashed) await auditStore.insert(tx, context, { type: "password.changed", tenantId: tenant.id, target: { type: "user", id: user.id }, data: { by: "admin" } });
          return row;
        });
        // A deactivated account, or one whose password an admin set, keeps no live session.
        if (statusChange?.status === "deactivated" || hashed) await deps.revokeUserSessions(user.id);
        return toUserView(updated);
      } catch (error) {
        if (isUniqueViolation(error) && input.email) throw emailTaken(input.email);
        throw error;
      }
    },

    async listUsers(tenant: TenantRef, query: Omit<UserListFilter, "tenantId" | "afterId"> & { cursor?: string }): Promise<Page<UserView>> {
      const { cursor, limit, ...filter } = query;
      const rows = await userStore.list(db, { ...filter, tenantId: tenant.id, afterId: decodeCursor(cursor, UUID_PATTERN), limit: limit + 1 });
      return toPage(rows, limit, toUserView, (row) => row.id);
    },
  };
}

function eventFor(status: "active" | "deactivated" | undefined): AuditEventType {
  if (status === "deactivated") return "user.deactivated";
  if (status === "active") return "user.reactivated";
  return "user.updated";
}

export type UserService = ReturnType<typeof createUserService>;
