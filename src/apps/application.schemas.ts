import { z } from "zod";
import { SLUG } from "../tenants/tenant.schemas";

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "[::1]", "localhost"]);

/**
 * A URI the provider sends browsers or logout tokens to: absolute, https (plain http only on a loopback
 * host, for apps on a developer's machine), no fragment, no credentials. Matched exactly, never as a prefix.
 */
const appUri = z
  .string()
  .max(2000)
  .refine(isAppUri, { error: "must be an absolute https URL (http only on a loopback host), without a fragment or credentials" });

function isAppUri(value: string): boolean {
  const url = URL.parse(value);
  if (!url || url.hash || value.includes("#") || url.username || url.password) return false;
  return url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname));
}

const uris = (min: number) => z.array(appUri).min(min).max(20).transform((list) => [...new Set(list)]);
const tenantSlugs = z
  .array(z.string().trim().toLowerCase().regex(SLUG, { error: "not a tenant slug" }))
  .min(1)
  .max(200)
  .transform((slugs) => [...new Set(slugs)]);
const name = z.string().trim().min(1).max(200);
const authMethod = z.enum(["client_secret_basic", "client_secret_post"]);

export const applicationCreateSchema = z.strictObject({
  name,
  redirectUris: uris(1),
  postLogoutRedirectUris: uris(0).default([]),
  backchannelLogoutUri: appUri.optional(),
  /** Absent: users of every tenant may sign in. */
  tenants: tenantSlugs.optional(),
  firstParty: z.boolean().default(true),
  refreshTokens: z.boolean().default(false),
  tokenEndpointAuthMethod: authMethod.default("client_secret_basic"),
});

export const applicationUpdateSchema = z
  .strictObject({
    name,
    redirectUris: uris(1),
    postLogoutRedirectUris: uris(0),
    backchannelLogoutUri: appUri.nullable(),
    /** null: every tenant. */
    tenants: tenantSlugs.nullable(),
    firstParty: z.boolean(),
    refreshTokens: z.boolean(),
    tokenEndpointAuthMethod: authMethod,
  })
  .partial();

export type ApplicationCreateInput = z.infer<typeof applicationCreateSchema>;
export type ApplicationUpdateInput = z.infer<typeof applicationUpdateSchema>;
