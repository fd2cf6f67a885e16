import { SsoRefused } from "../sso-errors";
import { attributeOf, childElement, DSIG, parseSamlXml, SAMLP } from "./saml-xml";

/** What the ACS reads of a posted SAMLResponse before any signature is checked. */
export type ResponseEnvelope = {
  /** The base64 form exactly as posted: node-saml decodes it to the same `xml`. */
  encoded: string;
  xml: string;
  /** The <samlp:Response> element (unverified until node-saml has checked it). */
  response: Element;
  /** The AuthnRequest it answers; undefined for an unsolicited (IdP-initiated) response. */
  inResponseTo?: string;
  /** The Response itself carries a signature, which must then verify too. */
  signed: boolean;
  relayState?: string;
};

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Decodes and parses the POST binding's form; refuses anything but one SAML 2.0 Response without a DOCTYPE. */
export function readResponseEnvelope(body: unknown): ResponseEnvelope {
  const form = (body ?? {}) as Record<string, unknown>;
  const posted = form.SAMLResponse;
  if (typeof posted !== "string") throw new SsoRefused("malformed");
  // Some IdPs wrap the base64 in lines; node-saml's decoder skips the whitespace too.
  const compact = posted.replace(/\s+/g, "");
  if (!BASE64.test(compact)) throw new SsoRefused("malformed");
  const xml = Buffer.from(posted, "base64").toString("utf8");
  const response = parseSamlXml(xml);
  if (response.namespaceURI !== SAMLP || response.localName !== "Response" || response.getAttribute("Version") !== "2.0") throw new SsoRefused("malformed");
  const relayState = typeof form.RelayState === "string" && form.RelayState.length <= 1024 ? form.RelayState : undefined;
  return {
    encoded: posted,
    xml,
    response,
    inResponseTo: attributeOf(response, "InResponseTo"),
    signed: childElement(response, DSIG, "Signature") !== undefined,
    relayState,
  };
}
