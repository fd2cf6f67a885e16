import { SsoRefused } from "../sso-errors";
import { NAMEID_UNSPECIFIED } from "./assertion-checks";
import { CLOCK_SKEW_MS, MAX_ASSERTION_AGE_MS } from "./saml-settings";
import { attributeOf, childElement, childElements, instantOf, SAML, SAMLP, textOf } from "./saml-xml";

/** What a logout message must say to be ours: from the connection's IdP, to this tenant's SLO URL, recent. */
export type LogoutExpected = { idpEntityId: string; sloUrl: string; now: number };

export type CheckedLogoutRequest = {
  id: string;
  /** After this instant the request is refused anyway: the replay guard may forget its ID then. */
  refusedAfter: number;
  nameId: string;
  nameIdFormat: string;
  /** The IdP sessions to end; empty means every session of the NameID (saml-core 3.7.1). */
  sessionIndexes: string[];
};

const SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success";

/** A LogoutRequest from the IdP (IdP-initiated single logout), as its signature covers it. */
export function checkLogoutRequest(root: Element, expected: LogoutExpected): CheckedLogoutRequest {
  const id = checkEnvelope(root, "LogoutRequest", expected);
  const issuedAt = instantOf(root, "IssueInstant")!;
  const notOnOrAfter = instantOf(root, "NotOnOrAfter");
  if (notOnOrAfter !== undefined && expected.now - CLOCK_SKEW_MS >= notOnOrAfter) throw new SsoRefused("expired");
  // An encrypted or base identifier cannot be matched to a session: only a plain NameID.
  const nameIds = childElements(root, SAML, "NameID");
  const nameId = textOf(nameIds[0]);
  if (nameIds.length !== 1 || !nameId || nameId.length > 1024) throw new SsoRefused("name_id_missing");
  return {
    id,
    refusedAfter: Math.min(notOnOrAfter ?? Infinity, issuedAt + MAX_ASSERTION_AGE_MS) + CLOCK_SKEW_MS,
    nameId,
    nameIdFormat: attributeOf(nameIds[0]!, "Format") ?? NAMEID_UNSPECIFIED,
    sessionIndexes: childElements(root, SAMLP, "SessionIndex").map((element) => textOf(element)).filter(Boolean),
  };
}

/** A LogoutResponse from the IdP to our LogoutRequest; returns the request it answers. */
export function checkLogoutResponse(root: Element, expected: LogoutExpected): { inResponseTo: string; success: boolean } {
  checkEnvelope(root, "LogoutResponse", expected);
  const inResponseTo = attributeOf(root, "InResponseTo");
  if (!inResponseTo) throw new SsoRefused("unsolicited");
  const status = childElement(root, SAMLP, "Status");
  const code = status ? childElement(status, SAMLP, "StatusCode") : undefined;
  if (!code) throw new SsoRefused("malformed");
  return { inResponseTo, success: attributeOf(code, "Value") === SUCCESS };
}

/**
 * Version, ID, Issuer (required: the message must say who sent it), Destination (required for signed
 * messages by saml-bindings 3.4.5.2 and 3.5.5.2), IssueInstant within the allowed age. Returns the ID.
 */
function checkEnvelope(root: Element, localName: string, expected: LogoutExpected): string {
  if (root.namespaceURI !== SAMLP || root.localName !== localName || root.getAttribute("Version") !== "2.0") throw new SsoRefused("malformed");
  const id = attributeOf(root, "ID");
  if (!id) throw new SsoRefused("malformed");
  if (textOf(childElement(root, SAML, "Issuer")) !== expected.idpEntityId) throw new SsoRefused("issuer_mismatch");
  if (attributeOf(root, "Destination") !== expected.sloUrl) throw new SsoRefused("destination_mismatch");
  const issuedAt = instantOf(root, "IssueInstant");
  if (issuedAt === undefined) throw new SsoRefused("malformed");
  if (issuedAt > expected.now + CLOCK_SKEW_MS) throw new SsoRefused("not_yet_valid");
  if (expected.now - CLOCK_SKEW_MS >= issuedAt + MAX_ASSERTION_AGE_MS) throw new SsoRefused("too_old");
  return id;
}
