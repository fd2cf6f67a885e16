import { generateServiceProviderMetadata } from "@node-saml/node-saml";
import type { SpEndpoints } from "./saml-settings";
import type { SpKeySet } from "./sp-signing-key";

const REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
// node-saml writes one SingleLogoutService, for HTTP-POST: the Redirect one is added in front of it.
const POST_SLO = /<SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"/;
// node-saml writes one encryption KeyDescriptor: during a rollover it is repeated for each other published key.
const ENCRYPTION_DESCRIPTOR = /<KeyDescriptor use="encryption">[\s\S]*?<\/KeyDescriptor>/;
const X509_CERTIFICATE = /<ds:X509Certificate>([\s\S]*?)<\/ds:X509Certificate>/;
// The AES-CBC content ciphers node-saml lists after the AES-GCM ones.
const CBC_METHODS = /\s*<EncryptionMethod Algorithm="http:\/\/www\.w3\.org\/2001\/04\/xmlenc#aes(?:128|256)-cbc"\/>/g;
const base64Of = (pem: string) => pem.replace(/-----[A-Z ]+-----|\s+/g, "");

/**
 * SP metadata for one tenant: entity ID, the ACS (HTTP-POST), single logout (HTTP-Redirect and HTTP-POST),
 * the signing certificate, the encryption certificate (KeyDescriptor use="encryption", with the content
 * ciphers accepted, AES-GCM first), signed AuthnRequests and signed assertions wanted. No NameIDFormat: the
 * IdP chooses (transient is refused at login). Encryption stays the IdP's choice: plain assertions are accepted.
 * Every published key of each role is listed, the active one first: during a rollover an IdP that reads the
 * metadata trusts the next signing key before it signs, and keeps the previous one until it is retired.
 * gcmOnly (every SAML connection of the tenant has requireGcmEncryption): AES-GCM alone is listed, so that
 * an IdP choosing from the metadata picks what the ACS accepts.
 */
export function spMetadataXml(endpoints: SpEndpoints, signing: SpKeySet, encryption: SpKeySet, options: { gcmOnly?: boolean } = {}): string {
  const key = signing.active;
  const encryptionKey = encryption.active;
  const xml = generateServiceProviderMetadata({
    issuer: endpoints.entityId,
    callbackUrl: endpoints.acsUrl,
    logoutCallbackUrl: endpoints.sloUrl,
    identifierFormat: null,
    wantAssertionsSigned: true,
    privateKey: key.privateKeyPem,
    publicCerts: signing.published.map((published) => published.certificatePem),
    signatureAlgorithm: "sha256",
    // node-saml only tests that a decryption key is present; it writes the certificate, never the key.
    decryptionPvk: encryptionKey.privateKeyPem,
    decryptionCert: encryptionKey.certificatePem,
  });
  if (!POST_SLO.test(xml)) throw new Error("node-saml no longer writes the HTTP-POST SingleLogoutService this code extends");
  const written = ENCRYPTION_DESCRIPTOR.exec(xml)?.[0];
  const certificate = written && X509_CERTIFICATE.exec(written)?.[1]?.replace(/\s+/g, "");
  if (!written || certificate !== base64Of(encryptionKey.certificatePem)) throw new Error("node-saml no longer writes the encryption KeyDescriptor this code repeats");
  if (options.gcmOnly && (written.match(CBC_METHODS) ?? []).length !== 2) throw new Error("node-saml no longer lists the two AES-CBC ciphers this code removes");
  const descriptor = options.gcmOnly ? written.replace(CBC_METHODS, "") : written;
  const others = encryption.published
    .filter((published) => published !== encryptionKey)
    .map((published) => descriptor.replace(X509_CERTIFICATE, `<ds:X509Certificate>${base64Of(published.certificatePem)}</ds:X509Certificate>`));
  return xml
    .replace(ENCRYPTION_DESCRIPTOR, () => [descriptor, ...others].join("\n    "))
    .replace(POST_SLO, (post) => `<SingleLogoutService Binding="${REDIRECT}" Location="${escapeAttribute(endpoints.sloUrl)}"/>\n    ${post}`);
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;");
}
