import type { SsoConnectionRow } from "../connection.store";
import { SsoRefused } from "../sso-errors";
import { checkAssertion, checkResponse, type CheckedAssertion, type Expected } from "./assertion-checks";
import { checkEncryptedAssertions, refusePlainAssertions, requireDecrypted } from "./encrypted-assertion";
import { verifiedAssertionXml } from "./node-saml-validation";
import { parseResponseEnvelope } from "./response-envelope";
import { samlClient } from "./saml-client";
import { parseSamlXml } from "./saml-xml";
import { checkXmlSignatureAlgorithms } from "./signature-algorithms";

/** Everything the signature and assertion checks need, as plain data (it crosses to a worker thread). */
export type ValidationRequest = {
  encoded: string;
  connection: Pick<SsoConnectionRow, "idpEntityId" | "ssoUrl" | "sloUrl" | "certificates" | "requireEncryptedAssertions" | "requireGcmEncryption">;
  expected: Expected;
  /**
   * The SP's encryption private keys (PEM), the active one first: one of them decrypts an EncryptedAssertion.
   * Never logged, never returned.
   */
  decryptionKeyPems?: string[];
};

export type ValidationOutcome = { ok: true; assertion: CheckedAssertion } | { ok: false; reason: string };

/**
 * The CPU-heavy part of the ACS, all XML work included: the envelope (no DOCTYPE, one SAML 2.0
 * Response answering the request the event loop found), the signature algorithms (no SHA-1),
 * a plain assertion refused when the connection requires encryption, an encrypted assertion decrypted under
 * our own rules (encrypted-assertion.ts), node-saml's signature checks
 * (the decrypted assertion's signature is required as a plain one's is), then ours on the Response and on the
 * assertion node-saml verified.
 * A refusal is returned, not thrown, so that it crosses a thread boundary with its reason.
 */
export async function validateResponse(request: ValidationRequest): Promise<ValidationOutcome> {
  try {
    const { expected } = request;
    const envelope = parseResponseEnvelope(request.encoded);
    // The event loop read InResponseTo as text to find the flow; the parsed document must say the same.
    if ((envelope.inResponseTo ?? null) !== expected.requestId) throw new SsoRefused(expected.requestId === null ? "unsolicited" : "unknown_in_response_to");
    // The connection's own policy, on the connection the flow or the Issuer chose, before any crypto.
    const encryptionRequired = request.connection.requireEncryptedAssertions;
    if (encryptionRequired) refusePlainAssertions(envelope.response);
    checkSignatureAlgorithmsOf(envelope.response);
    const decrypted = await checkEncryptedAssertions(envelope.response, request.decryptionKeyPems ?? [], { gcmOnly: request.connection.requireGcmEncryption });
    // node-saml decrypts again, with one key: the one that opened the assertion here.
    const decryptionKey = decrypted.keyPem ?? request.decryptionKeyPems?.[0];
    const client = samlClient({ endpoints: expected.endpoints, connection: request.connection, responseSigned: envelope.signed, decryptionKey });
    const assertionXml = await verifiedAssertionXml(client, request.encoded);
    const assertion = checkAssertion(parseSamlXml(assertionXml), expected);
    if (encryptionRequired) requireDecrypted(assertion.id, decrypted.ids);
    checkResponse(envelope.response, expected);
    return { ok: true, assertion };
  } catch (error) {
    if (error instanceof SsoRefused) return { ok: false, reason: error.reason };
    throw error;
  }
}

/**
 * The signatures node-saml verifies: the Response's own, and the one of each Assertion directly under it
 * (it matches Assertion by local name, so any namespace counts here too; more than one is refused there).
 */
function checkSignatureAlgorithmsOf(response: Element): void {
  checkXmlSignatureAlgorithms(response);
  for (let node = response.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 1 && (node as Element).localName === "Assertion") checkXmlSignatureAlgorithms(node as Element);
  }
}
