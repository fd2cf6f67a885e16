import { SsoRefused } from "../sso-errors";
import { attributeOf, childElement, DSIG, parseSamlXml, SAMLP } from "./saml-xml";

/** What the event loop reads of a posted response before handing it to a validation thread. */
export type PostedResponse = {
  /** The base64 form exactly as posted: node-saml decodes it to the same XML. */
  encoded: string;
  /** Whether the response holds anything named EncryptedAssertion: then the SP's key will be used on it. */
  encrypted: boolean;
  /** The root element's InResponseTo, read as text: only a key to find the login it answers. */
  inResponseTo?: string;
  /**
   * Unsolicited responses only: the first Issuer's text (the Response's own, else its assertion's), only a
   * key to choose which of the tenant's connections to check the response against.
   */
  issuer?: string;
  relayState?: string;
};

/** The parsed Response, in the validation thread. */
export type ResponseEnvelope = {
  /** The <samlp:Response> element (unverified until node-saml has checked it). */
  response: Element;
  /** The AuthnRequest it answers; undefined for an unsolicited (IdP-initiated) response. */
  inResponseTo?: string;
  /** The Response itself carries a signature, which must then verify too. */
  signed: boolean;
};

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
// The root element's start tag (after an XML declaration and comments) and its InResponseTo attribute.
const ROOT_RESPONSE = /^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--[\s\S]*?-->\s*)*<(?:[A-Za-z_][\w.-]*:)?Response\b([^>]*)>/;
const IN_RESPONSE_TO = /\sInResponseTo\s*=\s*(?:"([^"<>&]*)"|'([^'<>&]*)')/;
// The first Issuer start tag in document order: the Response's (its first child) when it has one, else the
// assertion's (Status holds none). Found by one linear scan; its text is then cut out with indexOf.
const ISSUER_START = /<(?:[A-Za-z_][\w.-]*:)?Issuer[\s/>]/;
const XML_ENTITIES: Record<string, string> = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'" };

function decode(encoded: string): string {
  // Some IdPs wrap the base64 in lines; node-saml's decoder skips the whitespace too.
  if (!BASE64.test(encoded.replace(/\s+/g, ""))) throw new SsoRefused("malformed");
  return Buffer.from(encoded, "base64").toString("utf8");
}

/**
 * The POST binding's form, decoded, with the InResponseTo of its root element and the first Issuer read
 * as text: enough to find the login it answers, or for an unsolicited one the connection it claims (and to
 * refuse an unknown one), before any parsing or crypto. Both are only lookup keys: the validation thread
 * parses the document (parseResponseEnvelope), requires the Response's InResponseTo to be the request
 * found, and the signed assertion's Issuer (and the Response's, if any) to be the connection's.
 */
export function readPostedResponse(body: unknown): PostedResponse {
  const form = (body ?? {}) as Record<string, unknown>;
  const encoded = form.SAMLResponse;
  if (typeof encoded !== "string") throw new SsoRefused("malformed");
  const xml = decode(encoded);
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new SsoRefused("doctype");
  const root = ROOT_RESPONSE.exec(xml);
  if (!root) throw new SsoRefused("malformed");
  const attribute = IN_RESPONSE_TO.exec(root[1] ?? "");
  const relayState = typeof form.RelayState === "string" && form.RelayState.length <= 1024 ? form.RelayState : undefined;
  const inResponseTo = attribute ? (attribute[1] ?? attribute[2]) : undefined;
  // An element of that name anywhere: XML names cannot be escaped, so no EncryptedAssertion hides from this.
  const encrypted = xml.includes("EncryptedAssertion");
  return { encoded, inResponseTo, issuer: inResponseTo === undefined ? issuerText(xml) : undefined, relayState, encrypted };
}

/** The first Issuer's plain text (no markup inside), or undefined: then the response names no connection. */
function issuerText(xml: string): string | undefined {
  const start = ISSUER_START.exec(xml);
  const open = start ? xml.indexOf(">", start.index) : -1;
  const close = open < 0 || xml[open - 1] === "/" ? -1 : xml.indexOf("<", open);
  if (close < 0) return undefined;
  const text = xml.slice(open + 1, close).replace(/&(?:amp|lt|gt|quot|apos);/g, (entity) => XML_ENTITIES[entity]!).trim();
  return text ? text : undefined;
}

/** Parses a posted response; refuses anything but one SAML 2.0 Response without a DOCTYPE. */
export function parseResponseEnvelope(encoded: string): ResponseEnvelope {
  const response = parseSamlXml(decode(encoded));
  if (response.namespaceURI !== SAMLP || response.localName !== "Response" || response.getAttribute("Version") !== "2.0") throw new SsoRefused("malformed");
  return {
    response,
    inResponseTo: attributeOf(response, "InResponseTo"),
    signed: childElement(response, DSIG, "Signature") !== undefined,
  };
}
