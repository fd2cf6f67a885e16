import type { UserRow } from "./user.store";

export type UserView = ReturnType<typeof toUserView>;

export function toUserView(user: UserRow) {
  return {
    id: user.id,
    tenantId: user.tenantId,
    email: user.email,
    name: user.name,
    kind: user.kind,
    role: user.role,
    status: user.status,
    ssoBypass: user.ssoBypass,
    hasPassword: user.passwordHash !== null,
    mfaEnrolled: user.totpSecret !== null,
    passwordRotation: user.passwordRotation,
    deactivatedAt: user.deactivatedAt?.toISOString() ?? null,
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
  };
}
