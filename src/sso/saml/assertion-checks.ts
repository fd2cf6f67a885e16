import { SsoRefused } from "../sso-errors";
import { CLOCK_SKEW_MS, MAX_ASSERTION_AGE_MS, type SpEndpoints } from "./saml-settings";
import { attributeOf, childElement, childElements, instantOf, SAML, textOf } from "./saml-xml";

/** What a response must be addressed to and answer; `now` from the service's clock. */
export type Expected = {
  endpoints: SpEndpoints;
  idpEntityId: string;
  /** The AuthnRequest ID the response answers (already matched to a flow); null when unsolicited. */
  requestId: string | null;
  now: number;
};

/** The facts of an assertion that passed every check. */
export type CheckedAssertion = {
  id: string;
  /** After this instant the assertion is refused anyway: the replay cache may forget it then. */
  refusedAfter: number;
  nameId: string;
  nameIdFormat: string;
  sessionIndex?: string;
  authnContext?: string;
  attributes: Map<string, string[]>;
};

export const NAMEID_UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";
const NAMEID_TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
const BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer";

/**
 * The Response around the assertion: addressed to this tenant's ACS, from the connection's IdP, recent.
 * Its attributes are signed only when the Response is; Destination is checked either way.
 */
export function checkResponse(response: Element, expected: Expected): void {
  if (attributeOf(response, "Destination") !== expected.endpoints.acsUrl) throw new SsoRefused("destination_mismatch");
  const issuer = childElement(response, SAML, "Issuer");
  if (issuer && textOf(issuer) !== expected.idpEntityId) throw new SsoRefused("issuer_mismatch");
  checkIssued(instantOf(response, "IssueInstant"), expected.now);
}

/** The signed assertion (as node-saml verified it), checked against the service's own clock and URLs. */
export function checkAssertion(assertion: Element, expected: Expected): CheckedAssertion {
  if (assertion.namespaceURI !== SAML || assertion.localName !== "Assertion" || assertion.getAttribute("Version") !== "2.0") throw new SsoRefused("malformed");
  const id = attributeOf(assertion, "ID");
  if (!id) throw new SsoRefused("malformed");
  if (textOf(childElement(assertion, SAML, "Issuer")) !== expected.idpEntityId) throw new SsoRefused("issuer_mismatch");
  const conditionsEnd = checkConditions(assertion, expected);
  const subject = childElement(assertion, SAML, "Subject");
  if (!subject) throw new SsoRefused("subject_missing");
  const confirmationEnd = checkBearerConfirmation(subject, expected);
  const issuedAt = checkIssued(instantOf(assertion, "IssueInstant"), expected.now);
  const authn = checkAuthnStatement(assertion, expected.now);
  return {
    id,
    refusedAfter: Math.min(conditionsEnd ?? Infinity, confirmationEnd, issuedAt + MAX_ASSERTION_AGE_MS) + CLOCK_SKEW_MS,
    ...nameIdOf(subject),
    ...authn,
    attributes: attributesOf(assertion),
  };
}

/** Not before NotBefore, not at or after NotOnOrAfter, each give or take the allowed skew. */
function checkWindow(now: number, notBefore: number | undefined, notOnOrAfter: number | undefined): void {
  if (notBefore !== undefined && now + CLOCK_SKEW_MS < notBefore) throw new SsoRefused("not_yet_valid");
  if (notOnOrAfter !== undefined && now - CLOCK_SKEW_MS >= notOnOrAfter) throw new SsoRefused("expired");
}

/** IssueInstant: present, not in the future, not older than the maximum assertion age. */
function checkIssued(issuedAt: number | undefined, now: number): number {
  if (issuedAt === undefined) throw new SsoRefused("malformed");
  if (issuedAt > now + CLOCK_SKEW_MS) throw new SsoRefused("not_yet_valid");
  if (now - CLOCK_SKEW_MS >= issuedAt + MAX_ASSERTION_AGE_MS) throw new SsoRefused("too_old");
  return issuedAt;
}

/** One Conditions element whose every AudienceRestriction names this tenant's SP; returns its NotOnOrAfter. */
function checkConditions(assertion: Element, expected: Expected): number | undefined {
  const all = childElements(assertion, SAML, "Conditions");
  if (all.length !== 1) throw new SsoRefused(all.length === 0 ? "audience_mismatch" : "malformed");
  const conditions = all[0]!;
  const restrictions = childElements(conditions, SAML, "AudienceRestriction");
  const names = (restriction: Element) => childElements(restriction, SAML, "Audience").map((audience) => textOf(audience));
  if (restrictions.length === 0 || !restrictions.every((r) => names(r).includes(expected.endpoints.entityId))) throw new SsoRefused("audience_mismatch");
  const notOnOrAfter = instantOf(conditions, "NotOnOrAfter");
  checkWindow(expected.now, instantOf(conditions, "NotBefore"), notOnOrAfter);
  return notOnOrAfter;
}

/**
 * Web SSO profile (saml-profiles 4.1.4.2): a bearer SubjectConfirmation whose data names this ACS as
 * Recipient, has a NotOnOrAfter still ahead, and answers the same request as the Response. The last part
 * binds the signed assertion to the flow, so a solicited assertion cannot be replayed as unsolicited.
 * Returns the NotOnOrAfter of the confirmation that passed.
 */
function checkBearerConfirmation(subject: Element, expected: Expected): number {
  const bearers = childElements(subject, SAML, "SubjectConfirmation").filter((c) => c.getAttribute("Method") === BEARER);
  if (bearers.length === 0) throw new SsoRefused("subject_unconfirmed");
  let firstProblem: unknown;
  for (const bearer of bearers) {
    try {
      return checkBearer(bearer, expected);
    } catch (problem) {
      firstProblem ??= problem;
    }
  }
  throw firstProblem;
}

function checkBearer(bearer: Element, expected: Expected): number {
  const data = childElement(bearer, SAML, "SubjectConfirmationData");
  if (!data) throw new SsoRefused("subject_unconfirmed");
  if (attributeOf(data, "Recipient") !== expected.endpoints.acsUrl) throw new SsoRefused("recipient_mismatch");
  const notOnOrAfter = instantOf(data, "NotOnOrAfter");
  if (notOnOrAfter === undefined) throw new SsoRefused("subject_unconfirmed");
  checkWindow(expected.now, instantOf(data, "NotBefore"), notOnOrAfter);
  if ((attributeOf(data, "InResponseTo") ?? null) !== expected.requestId) throw new SsoRefused("in_response_to_mismatch");
  return notOnOrAfter;
}

/** The NameID is the identity's key at the IdP: a transient one changes every login and cannot be linked. */
function nameIdOf(subject: Element): { nameId: string; nameIdFormat: string } {
  const nameIdElement = childElement(subject, SAML, "NameID");
  const nameId = textOf(nameIdElement);
  if (!nameIdElement || !nameId || nameId.length > 1024) throw new SsoRefused("name_id_missing");
  const nameIdFormat = attributeOf(nameIdElement, "Format") ?? NAMEID_UNSPECIFIED;
  if (nameIdFormat === NAMEID_TRANSIENT) throw new SsoRefused("name_id_transient");
  return { nameId, nameIdFormat };
}

/** The first AuthnStatement: when and how the user authenticated at the IdP, and the IdP's session. */
function checkAuthnStatement(assertion: Element, now: number): { sessionIndex?: string; authnContext?: string } {
  const statement = childElement(assertion, SAML, "AuthnStatement");
  if (!statement) throw new SsoRefused("authn_statement_missing");
  const authnInstant = instantOf(statement, "AuthnInstant");
  if (authnInstant === undefined) throw new SsoRefused("malformed");
  // An old AuthnInstant is normal (the user's IdP session); one in the future is not.
  if (authnInstant > now + CLOCK_SKEW_MS) throw new SsoRefused("not_yet_valid");
  checkWindow(now, undefined, instantOf(statement, "SessionNotOnOrAfter"));
  const context = childElement(statement, SAML, "AuthnContext");
  const classRef = context ? textOf(childElement(context, SAML, "AuthnContextClassRef")) : "";
  return { sessionIndex: attributeOf(statement, "SessionIndex"), authnContext: classRef || undefined };
}

/** Attribute name -> its values, over every AttributeStatement. */
function attributesOf(assertion: Element): Map<string, string[]> {
  const attributes = new Map<string, string[]>();
  for (const statement of childElements(assertion, SAML, "AttributeStatement")) {
    for (const attribute of childElements(statement, SAML, "Attribute")) {
      const name = attributeOf(attribute, "Name");
      if (!name) continue;
      const values = childElements(attribute, SAML, "AttributeValue").map((value) => textOf(value)).filter(Boolean);
      attributes.set(name, [...(attributes.get(name) ?? []), ...values]);
    }
  }
  return attributes;
}
