import { z } from "zod";

const httpsUrl = z.url({ protocol: /^https$/, error: "must be an https URL" }).max(2048);
const provisioning = z.enum(["pre-provisioned", "jit"]);
const mappedName = z.string().trim().min(1).max(256);
/** Which SAML attribute / OIDC claim carries each user field. */
const mapping = z.strictObject({ email: mappedName, firstName: mappedName, lastName: mappedName, groups: mappedName }).partial();
const pem = z.string().min(1).max(20_000);
const certificates = z.array(pem).min(1).max(5);
const metadataXml = z.string().min(1).max(90_000);
const scopes = z
  .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, { error: "not a valid scope token" }).max(100))
  .min(1)
  .max(30)
  .refine((list) => list.includes("openid"), { error: "must include openid" })
  .transform((list) => [...new Set(list)]);

/**
 * Authentication contexts asked of the IdP on step-up and read as a second factor when it answers with one:
 * SAML AuthnContextClassRef URIs or OIDC acr values. No spaces: OIDC sends them space-separated.
 */
const stepUpContexts = z
  .array(z.string().regex(/^[\x21-\x7e]+$/, { error: "one value, without spaces" }).max(1024))
  .max(10)
  .transform((list) => [...new Set(list)]);

export const DEFAULT_OIDC_SCOPES = ["openid", "email", "profile"];

const samlCreate = z
  .strictObject({
    type: z.literal("saml"),
    enabled: z.boolean().default(true),
    metadataXml: metadataXml.optional(),
    idpEntityId: z.string().trim().min(1).max(1024).optional(),
    ssoUrl: httpsUrl.optional(),
    sloUrl: httpsUrl.optional(),
    certificates: certificates.optional(),
    allowIdpInitiated: z.boolean().default(false),
    requireEncryptedAssertions: z.boolean().default(false),
    requireGcmEncryption: z.boolean().default(false),
    stepUpContexts: stepUpContexts.default([]),
    provisioning: provisioning.default("pre-provisioned"),
    attributeMapping: mapping.optional(),
  })
  .superRefine((input, ctx) => {
    const fields = (["idpEntityId", "ssoUrl", "certificates", "sloUrl"] as const).filter((key) => input[key] !== undefined);
    if (input.metadataXml !== undefined) {
      for (const key of fields) ctx.addIssue({ code: "custom", path: [key], message: "send either metadataXml or the fields, not both" });
      return;
    }
    for (const key of ["idpEntityId", "ssoUrl", "certificates"] as const) {
      if (input[key] === undefined) ctx.addIssue({ code: "custom", path: [key], message: "required unless metadataXml is sent" });
    }
  });

const oidcCreate = z.strictObject({
  type: z.literal("oidc"),
  enabled: z.boolean().default(true),
  issuer: z.string().trim().min(1).max(2048),
  clientId: z.string().trim().min(1).max(512),
  clientSecret: z.string().min(1).max(2048),
  scopes: scopes.default(DEFAULT_OIDC_SCOPES),
  stepUpContexts: stepUpContexts.default([]),
  provisioning: provisioning.default("pre-provisioned"),
  claimMapping: mapping.optional(),
});

export const connectionCreateSchema = z.discriminatedUnion("type", [samlCreate, oidcCreate]);

/** PATCH: any field of the connection's own type; `type` itself cannot change. */
export const connectionUpdateSchema = z.strictObject({
  type: z.enum(["saml", "oidc"]).optional(),
  enabled: z.boolean().optional(),
  metadataXml: metadataXml.optional(),
  idpEntityId: z.string().trim().min(1).max(1024).optional(),
  ssoUrl: httpsUrl.optional(),
  sloUrl: httpsUrl.nullable().optional(),
  certificates: certificates.optional(),
  allowIdpInitiated: z.boolean().optional(),
  requireEncryptedAssertions: z.boolean().optional(),
  requireGcmEncryption: z.boolean().optional(),
  stepUpContexts: stepUpContexts.optional(),
  attributeMapping: mapping.nullable().optional(),
  issuer: z.string().trim().min(1).max(2048).optional(),
  clientId: z.string().trim().min(1).max(512).optional(),
  clientSecret: z.string().min(1).max(2048).optional(),
  scopes: scopes.optional(),
  claimMapping: mapping.nullable().optional(),
  provisioning: provisioning.optional(),
});

export const ssoPolicySchema = z.strictObject({ enabled: z.boolean(), enforced: z.boolean(), force: z.boolean().default(false) });

export type ConnectionCreateInput = z.infer<typeof connectionCreateSchema>;
export type SamlCreateInput = Extract<ConnectionCreateInput, { type: "saml" }>;
export type OidcCreateInput = Extract<ConnectionCreateInput, { type: "oidc" }>;
export type ConnectionUpdateInput = z.infer<typeof connectionUpdateSchema>;
export type SsoPolicyInput = z.infer<typeof ssoPolicySchema>;

export const SAML_ONLY_FIELDS = [
  "metadataXml", "idpEntityId", "ssoUrl", "sloUrl", "certificates", "allowIdpInitiated", "requireEncryptedAssertions", "requireGcmEncryption",
  "attributeMapping",
] as const;
export const OIDC_ONLY_FIELDS = ["issuer", "clientId", "clientSecret", "scopes", "claimMapping"] as const;
