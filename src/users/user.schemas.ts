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
/** Only a size bound here: the password policy (passwords/password-policy.ts) is the one judge of content and length. */
export const newPassword = z.string().min(1).max(1024);
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
