import { z } from "zod";

/** Emails are trimmed and NFKC-normalised; uniqueness per tenant ignores case (emailKey). */
export const emailAddress = z
  .string()
  .trim()
  .max(320)
  .transform((value) => value.normalize("NFKC"))
  .pipe(z.email({ error: "not a valid email address" }));

export function emailKeyOf(email: string): string {
  return email.normalize("NFKC").trim().toLowerCase();
}

const name = z.string().trim().min(1).max(200);
/** Interim rule until the full password policy: 12 to 256 characters, nothing else imposed. */
export const newPassword = z
  .string()
  .transform((value) => value.normalize("NFKC"))
  .pipe(z.string().min(12, { error: "must be at least 12 characters" }).max(256, { error: "must be at most 256 characters" }));
const kind = z.enum(["member", "contractor", "client"]);
const role = z.enum(["user", "admin"]);

export const userCreateSchema = z.strictObject({
  email: emailAddress,
  name,
  kind,
  role: role.default("user"),
  ssoBypass: z.boolean().default(false),
  password: newPassword.optional(),
});

export const userUpdateSchema = z.strictObject({
  email: emailAddress.optional(),
  name: name.optional(),
  kind: kind.optional(),
  role: role.optional(),
  status: z.enum(["active", "deactivated"]).optional(),
  ssoBypass: z.boolean().optional(),
  password: newPassword.optional(),
});

export type UserCreateInput = z.infer<typeof userCreateSchema>;
export type UserUpdateInput = z.infer<typeof userUpdateSchema>;
