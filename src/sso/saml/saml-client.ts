import { randomBytes } from "node:crypto";
import { SAML, ValidateInResponseTo, type CacheProvider } from "@node-saml/node-saml";
import type { SsoConnectionRow } from "../connection.store";
import { CLOCK_SKEW_MS, MAX_ASSERTION_AGE_MS, type SpEndpoints } from "./saml-settings";
import type { SpSigningKey } from "./sp-signing-key";

export type SamlClientInput = {
  endpoints: SpEndpoints;
  connection: Pick<SsoConnectionRow, "idpEntityId" | "ssoUrl" | "sloUrl" | "certificates">;
  /** Signs outgoing requests (AuthnRequest, LogoutRequest); not needed to validate responses. */
  key?: SpSigningKey;
  /** The SP's encryption private key (PEM), for a response carrying an EncryptedAssertion. */
  decryptionKey?: string;
  /** The posted Response has a signature of its own: then it must verify too, not only the assertion's. */
  responseSigned?: boolean;
  /** The ID the next generated request gets (the flow store already knows it). */
  requestId?: string;
  /** Where node-saml keeps the IDs of LogoutRequests it sends. */
  requestCache?: CacheProvider;
  /** AuthnContextClassRefs the AuthnRequest asks for (RequestedAuthnContext, Comparison="exact"); none when empty. */
  authnContexts?: string[];
};

/** A fresh request ID: an xs:ID must not start with a digit; 160 random bits. */
export function newRequestId(): string {
  return `_${randomBytes(20).toString("hex")}`;
}

/**
 * node-saml for one tenant's connection. It checks: the signature of the assertion (always required) and
 * of the Response when it carries one, against the connection's certificates only (KeyInfo is ignored);
 * exactly one assertion, as a direct child of the Response; the Status; Conditions NotBefore/NotOnOrAfter
 * and IssueInstant age (its own clock); the Audience. The ACS checks the rest itself (Destination,
 * Recipient, Issuer, InResponseTo, SubjectConfirmation, replay) on the XML node-saml verified.
 */
export function samlClient(input: SamlClientInput): SAML {
  const { endpoints, connection, key } = input;
  const requestId = input.requestId;
  return new SAML({
    issuer: endpoints.entityId,
    callbackUrl: endpoints.acsUrl,
    audience: endpoints.entityId,
    entryPoint: connection.ssoUrl ?? undefined,
    logoutUrl: connection.sloUrl ?? undefined,
    // node-saml checks idpIssuer only on logout messages; the ACS checks the Issuer of responses itself.
    idpIssuer: connection.idpEntityId ?? undefined,
    idpCert: connection.certificates,
    ...(key ? { privateKey: key.privateKeyPem, publicCert: key.certificatePem } : {}),
    // node-saml decrypts an EncryptedAssertion and requires the decrypted assertion's signature like a plain one's.
    ...(input.decryptionKey ? { decryptionPvk: input.decryptionKey } : {}),
    signatureAlgorithm: "sha256",
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: input.responseSigned === true,
    acceptedClockSkewMs: CLOCK_SKEW_MS,
    maxAssertionAgeMs: MAX_ASSERTION_AGE_MS,
    // InResponseTo is matched by the flow store (Redis, shared by every instance, single use) and against
    // the signed SubjectConfirmationData by the ACS; node-saml's own cache would be per process.
    validateInResponseTo: ValidateInResponseTo.never,
    // Let the IdP choose the NameID format and how the user authenticates (MFA included), except on step-up
    // through a connection that names the contexts to ask for: then one of them, exactly.
    identifierFormat: null,
    ...(input.authnContexts?.length
      ? { disableRequestedAuthnContext: false, authnContext: input.authnContexts, racComparison: "exact" as const }
      : { disableRequestedAuthnContext: true }),
    ...(requestId ? { generateUniqueId: () => requestId } : {}),
    ...(input.requestCache ? { cacheProvider: input.requestCache } : {}),
  });
}
