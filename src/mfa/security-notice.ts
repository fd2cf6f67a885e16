/**
 * A mail that tells users about a change to their second factor, made in their name: what changed, when
 * and from where, and what to do if it was not them. It never carries a secret or a code.
 */
export function securityNotice(input: { to: string; subject: string; what: string; at: Date; ip: string; ifNotYou: string }): { to: string; subject: string; text: string } {
  const text = [input.what, `Time: ${input.at.toISOString()}`, `From: ${input.ip}`, "", input.ifNotYou].join("\n");
  return { to: input.to, subject: input.subject, text };
}

/** "ada@example.com (Acme)", or the address alone where the tenant has no name. */
export const accountLabel = (email: string, tenantName: string) => `${email}${tenantName ? ` (${tenantName})` : ""}`;
