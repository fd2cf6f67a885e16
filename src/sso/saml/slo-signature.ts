import { X509Certificate, verify } from "node:crypto";
import { getVerifiedXml } from "@node-saml/node-saml/lib/xml";
import { SsoRefused } from "../sso-errors";
import { childElement, DSIG, parseSamlXml } from "./saml-xml";
import type { SloMessage } from "./slo-message";
import { checkXmlSignatureAlgorithms, redirectDigestOf } from "./signature-algorithms";

/**
 * The logout message as its signature covers it, parsed, after the signature verified against one of the
 * connection's certificates (never a key the message names). `root` is `message.xml` as parsed on arrival
 * (its Issuer chose the connection). Unsigned messages are refused: anyone can make a browser send one.
 *
 * HTTP-Redirect: the detached signature over the query, checked here: node-saml's validateRedirectAsync
 * (5.1) lets an unsigned message through, accepts any SigAlg (SHA-1 too), and picks the signed parameters
 * out of the query by substring match. HTTP-POST: the enveloped XML signature through node-saml's
 * getVerifiedXml, whose output (the signed element, canonicalised, without its signature) is all that is read.
 */
export function verifiedLogoutMessage(message: SloMessage, root: Element, certificates: readonly string[]): Element {
  if (message.redirect) {
    // The signature is over the encoded message itself: once it verifies, so does the document parsed from it.
    verifyRedirectSignature(message.redirect, certificates);
    return root;
  }
  if (!childElement(root, DSIG, "Signature")) throw new SsoRefused("unsigned");
  checkXmlSignatureAlgorithms(root);
  let verified: string | null;
  try {
    verified = getVerifiedXml(message.xml, root, [...certificates]);
  } catch (error) {
    throw new SsoRefused("signature_invalid", { cause: error });
  }
  if (!verified) throw new SsoRefused("signature_invalid");
  return parseSamlXml(verified);
}

function verifyRedirectSignature(redirect: NonNullable<SloMessage["redirect"]>, certificates: readonly string[]): void {
  if (!redirect.signature || !redirect.sigAlg) throw new SsoRefused("unsigned");
  const digest = redirectDigestOf(redirect.sigAlg);
  const signature = Buffer.from(redirect.signature, "base64");
  const octets = Buffer.from(redirect.octets, "utf8");
  if (!certificates.some((pem) => rsaVerifies(digest, octets, pem, signature))) throw new SsoRefused("signature_invalid");
}

/** Only an RSA key: the SigAlg names RSA, and a key of another type must not verify under it. */
function rsaVerifies(digest: string, octets: Buffer, pem: string, signature: Buffer): boolean {
  try {
    const key = new X509Certificate(pem).publicKey;
    return key.asymmetricKeyType === "rsa" && verify(digest, octets, key, signature);
  } catch {
    return false;
  }
}
