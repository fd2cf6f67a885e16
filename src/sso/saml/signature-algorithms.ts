import { SsoRefused } from "../sso-errors";
import { childElements, DSIG } from "./saml-xml";

/**
 * XML signature methods accepted from an IdP. SHA-1 (rsa-sha1, and any SHA-1 digest) is out: collisions
 * for it are practical. node-saml 5.1 has no option for this and creates xml-crypto's verifier itself,
 * so the algorithms are read from the very Signature element it verifies. xml-crypto 6 knows no ECDSA
 * and no rsa-sha384: an IdP using those fails at the signature check anyway.
 */
const XML_SIGNATURE_METHODS = new Set([
  "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
  "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
  "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
  "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1",
]);

const XML_DIGEST_METHODS = new Set([
  "http://www.w3.org/2001/04/xmlenc#sha256",
  "http://www.w3.org/2001/04/xmldsig-more#sha384",
  "http://www.w3.org/2001/04/xmlenc#sha512",
]);

/** HTTP-Redirect binding SigAlg values accepted, and the node:crypto digest each one verifies with (RSA PKCS#1 v1.5). */
const REDIRECT_SIG_ALGS: ReadonlyMap<string, string> = new Map([
  ["http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", "sha256"],
  ["http://www.w3.org/2001/04/xmldsig-more#rsa-sha384", "sha384"],
  ["http://www.w3.org/2001/04/xmldsig-more#rsa-sha512", "sha512"],
]);

/**
 * Refuses the signatures directly under `element` (the ones node-saml verifies: it takes the Signature
 * child of the Response, of the Assertion, of a logout message) unless every SignatureMethod and
 * DigestMethod in them is on the allow-list. Every occurrence counts, wherever it sits in the
 * Signature: xml-crypto reads the first one it finds.
 */
export function checkXmlSignatureAlgorithms(element: Element): void {
  for (const signature of childElements(element, DSIG, "Signature")) {
    const methods = descendantsNamed(signature, "SignatureMethod");
    const digests = descendantsNamed(signature, "DigestMethod");
    if (methods.length === 0 || digests.length === 0) throw new SsoRefused("malformed");
    const allowed = methods.every((m) => XML_SIGNATURE_METHODS.has(m.getAttribute("Algorithm") ?? ""))
      && digests.every((d) => XML_DIGEST_METHODS.has(d.getAttribute("Algorithm") ?? ""));
    if (!allowed) throw new SsoRefused("weak_signature_algorithm");
  }
}

/** The node:crypto digest for an HTTP-Redirect SigAlg; anything off the allow-list is refused. */
export function redirectDigestOf(sigAlg: string): string {
  const digest = REDIRECT_SIG_ALGS.get(sigAlg);
  if (!digest) throw new SsoRefused("weak_signature_algorithm");
  return digest;
}

/** Every element below `root` with this local name, in any namespace (xml-crypto matches on local-name() alone). */
function descendantsNamed(root: Element, localName: string): Element[] {
  const found: Element[] = [];
  for (let node = root.firstChild; node; node = node.nextSibling) {
    if (node.nodeType !== 1) continue;
    const element = node as Element;
    if (element.localName === localName) found.push(element);
    found.push(...descendantsNamed(element, localName));
  }
  return found;
}
