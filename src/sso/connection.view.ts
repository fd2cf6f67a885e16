import { summariseStored } from "./certificates";
import type { SsoConnectionRow } from "./connection.store";

type Mapping = Record<string, string> | null;

/** The public shape of a connection: no client secret, certificates as summaries. */
export function toConnectionView(row: SsoConnectionRow, now: Date) {
  const common = { id: row.id, enabled: row.enabled, provisioning: row.provisioning as "pre-provisioned" | "jit", stepUpContexts: row.stepUpContexts };
  const times = { createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() };
  if (row.type === "oidc") {
    return {
      ...common, type: "oidc" as const,
      issuer: row.issuer ?? "", clientId: row.clientId ?? "", hasClientSecret: row.clientSecretSealed !== null,
      scopes: row.scopes, claimMapping: row.attributeMapping as Mapping, ...times,
    };
  }
  return {
    ...common, type: "saml" as const,
    idpEntityId: row.idpEntityId ?? "", ssoUrl: row.ssoUrl ?? "", sloUrl: row.sloUrl,
    certificates: summariseStored(row.certificates, now),
    allowIdpInitiated: row.allowIdpInitiated, wantAssertionsSigned: row.wantAssertionsSigned,
    requireEncryptedAssertions: row.requireEncryptedAssertions,
    requireGcmEncryption: row.requireGcmEncryption,
    attributeMapping: row.attributeMapping as Mapping, ...times,
  };
}

export type ConnectionView = ReturnType<typeof toConnectionView>;
