import { generateServiceProviderMetadata } from "@node-saml/node-saml";
import type { SpEndpoints } from "./saml-settings";
import type { SpSigningKey } from "./sp-signing-key";

const REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
// node-saml writes one SingleLogoutService, for HTTP-POST: the Redirect one is added in front of it.
const POST_SLO = /<SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"/;

/**
 * SP metadata for one tenant: entity ID, the ACS (HTTP-POST), single logout (HTTP-Redirect and HTTP-POST),
 * the signing certificate, the encryption certificate (KeyDescriptor use="encryption", with the content
 * ciphers accepted, AES-GCM first), signed AuthnRequests and signed assertions wanted. No NameIDFormat: the
 * IdP chooses (transient is refused at login). Encryption stays the IdP's choice: plain assertions are accepted.
 */
export function spMetadataXml(endpoints: SpEndpoints, key: SpSigningKey, encryptionKey: SpSigningKey): string {
  const xml = generateServiceProviderMetadata({
    issuer: endpoints.entityId,
    callbackUrl: endpoints.acsUrl,
    logoutCallbackUrl: endpoints.sloUrl,
    identifierFormat: null,
    wantAssertionsSigned: true,
    privateKey: key.privateKeyPem,
    publicCerts: key.certificatePem,
    signatureAlgorithm: "sha256",
    // node-saml only tests that a decryption key is present; it writes the certificate, never the key.
    decryptionPvk: encryptionKey.privateKeyPem,
    decryptionCert: encryptionKey.certificatePem,
  });
  if (!POST_SLO.test(xml)) throw new Error("node-saml no longer writes the HTTP-POST SingleLogoutService this code extends");
  return xml.replace(POST_SLO, (post) => `<SingleLogoutService Binding="${REDIRECT}" Location="${escapeAttribute(endpoints.sloUrl)}"/>\n    ${post}`);
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;");
}
