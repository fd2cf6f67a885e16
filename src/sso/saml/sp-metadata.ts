import { generateServiceProviderMetadata } from "@node-saml/node-saml";
import type { SpEndpoints } from "./saml-settings";
import type { SpSigningKey } from "./sp-signing-key";

/**
 * SP metadata for one tenant: entity ID, the ACS (HTTP-POST), the signing certificate, signed
 * AuthnRequests and signed assertions wanted. No NameIDFormat: the IdP chooses (transient is refused at login).
 */
export function spMetadataXml(endpoints: SpEndpoints, key: SpSigningKey): string {
  return generateServiceProviderMetadata({
    issuer: endpoints.entityId,
    callbackUrl: endpoints.acsUrl,
    identifierFormat: null,
    wantAssertionsSigned: true,
    privateKey: key.privateKeyPem,
    publicCerts: key.certificatePem,
    signatureAlgorithm: "sha256",
  });
}
