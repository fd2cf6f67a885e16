import { promisify } from "node:util";
import * as xmlenc from "xml-encryption";
import { SsoRefused } from "../sso-errors";
import { attributeOf, parseSamlXml, SAML } from "./saml-xml";
import { checkXmlSignatureAlgorithms } from "./signature-algorithms";

/**
 * XML Encryption algorithms accepted in an EncryptedAssertion (the ones SP metadata lists, and RSA-OAEP).
 * RSA PKCS#1 v1.5 key transport is out (Bleichenbacher: a decryption oracle on our key), and so is 3DES.
 * AES-CBC stays unless the connection requires GCM: ADFS and Okta encrypt with it by default. Against its
 * padding and parsing oracles (Jager and Somorovsky, 2011) every decryption failure gets one refusal code
 * and the same page as any other refusal, and failures are throttled (saml-acs.ts); AES-GCM, listed first
 * in SP metadata, is authenticated and has no such oracle, and a connection with `requireGcmEncryption`
 * refuses CBC before any key is used, so nothing can be probed at all.
 */
const KEY_TRANSPORT = new Set(["http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"]);
const AUTHENTICATED_CONTENT_ENCRYPTION = new Set(["http://www.w3.org/2009/xmlenc11#aes256-gcm", "http://www.w3.org/2009/xmlenc11#aes128-gcm"]);
const CONTENT_ENCRYPTION = new Set([
  ...AUTHENTICATED_CONTENT_ENCRYPTION,
  "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
  "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
]);

const decrypt = promisify(xmlenc.decrypt);

/**
 * Decrypts each EncryptedAssertion directly under the Response (node-saml matches it by local name) with the
 * SP's encryption key, before node-saml decrypts the same bytes again with the same library: node-saml 5.1
 * passes xml-encryption no options, so the algorithm allow-list is enforced here, before any RSA operation,
 * and the signature algorithms of the decrypted assertion are checked as those of a plain one are. What
 * node-saml then verifies is the same plaintext. Every failure to decrypt is `decryption_failed`, whatever
 * went wrong (wrong key, padding, GCM tag, not an Assertion), so no refusal tells an attacker which.
 */
export async function checkEncryptedAssertions(response: Element, decryptionKeyPems: readonly string[], policy: { gcmOnly: boolean }): Promise<Decrypted> {
  const ids = new Set<string>();
  let keyPem: string | undefined;
  for (let node = response.firstChild; node; node = node.nextSibling) {
    if (node.nodeType !== 1 || (node as Element).localName !== "EncryptedAssertion") continue;
    const encrypted = node as Element;
    checkEncryptionAlgorithms(encrypted, policy.gcmOnly ? AUTHENTICATED_CONTENT_ENCRYPTION : CONTENT_ENCRYPTION);
    const opened = await decryptedAssertion(encrypted, decryptionKeyPems);
    keyPem ??= opened.keyPem;
    checkXmlSignatureAlgorithms(opened.assertion);
    // Read as checkAssertion reads the verified assertion's ID, so that the two compare.
    const id = attributeOf(opened.assertion, "ID");
    if (id) ids.add(id);
  }
  return { ids, keyPem };
}

/** The IDs of the assertions this SP decrypted from the Response: the only ones an encryption-only connection signs in with. */
export type DecryptedAssertionIds = ReadonlySet<string>;

/** What decryption found: the assertions' IDs, and the key that opened the first of them (none when none was encrypted). */
export type Decrypted = { ids: DecryptedAssertionIds; keyPem: string | undefined };

/**
 * For a connection that requires encrypted assertions, before anything is decrypted or verified: a plain Assertion
 * anywhere in the Response is refused, even beside an EncryptedAssertion (an IdP that sends one has leaked it,
 * and which of the two counts would be ambiguous). Matched by local name in any namespace, as node-saml picks
 * assertions, so none it could pick is let through; an encrypted one's content is ciphertext here.
 */
export function refusePlainAssertions(response: Element): void {
  if (response.getElementsByTagNameNS("*", "Assertion").length > 0) throw new SsoRefused("assertion_not_encrypted");
}

/**
 * After node-saml: the assertion it verified must be one decrypted here. A second guard that does not rely on
 * node-saml's choice between a plain and an encrypted assertion (today it refuses a Response with both).
 */
export function requireDecrypted(assertionId: string, decrypted: DecryptedAssertionIds): void {
  if (!decrypted.has(assertionId)) throw new SsoRefused("assertion_not_encrypted");
}

/** Every EncryptionMethod anywhere inside (xml-encryption finds them by local name, wherever they are). */
function checkEncryptionAlgorithms(encrypted: Element, content: ReadonlySet<string>): void {
  const methods = Array.from(encrypted.getElementsByTagNameNS("*", "EncryptionMethod"));
  const allowed = methods.every((method) => {
    const algorithm = method.getAttribute("Algorithm") ?? "";
    return KEY_TRANSPORT.has(algorithm) || content.has(algorithm);
  });
  // And one of them must name the content's algorithm: none would leave the choice to the library.
  const named = methods.some((method) => content.has(method.getAttribute("Algorithm") ?? ""));
  if (!allowed || !named) throw new SsoRefused("weak_encryption_algorithm");
}

/**
 * Tries each published key in turn (active first): during a rollover an IdP may have encrypted to the next
 * key or to the previous one. With RSA-OAEP a wrong key fails on the key transport, before any content is
 * decrypted. Only the last failure is a refusal, and every refusal is the same one.
 */
async function decryptedAssertion(encrypted: Element, decryptionKeyPems: readonly string[]): Promise<{ assertion: Element; keyPem: string }> {
  // The same serialisation node-saml hands to xml-encryption; the insecure-algorithm switch is a second guard.
  const xml = encrypted.toString();
  for (const keyPem of decryptionKeyPems) {
    let assertion: Element;
    try {
      assertion = parseSamlXml(await decrypt(xml, { key: keyPem, disallowDecryptionWithInsecureAlgorithm: true, warnInsecureAlgorithm: false }));
    } catch {
      // No cause kept: neither the key nor the plaintext may reach a log.
      continue;
    }
    if (assertion.namespaceURI !== SAML || assertion.localName !== "Assertion") throw new SsoRefused("decryption_failed");
    return { assertion, keyPem };
  }
  throw new SsoRefused("decryption_failed");
}
