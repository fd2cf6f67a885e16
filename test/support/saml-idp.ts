import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as samlify from "samlify";

// A real SAML IdP for tests: samlify parses (and verifies) Gatehouse's AuthnRequests and signs the responses.
// samlify insists on a schema validator; XML well-formedness is all this test peer needs to trust its input.
samlify.setSchemaValidator({ validate: () => Promise.resolve("skipped in the test IdP") });

export type IdpKeys = { privateKey: string; certificate: string };

const BINDING_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
export const NAMEID_EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
export const NAMEID_PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
const PASSWORD_CONTEXT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport";

/** An RSA key and its self-signed certificate, made by openssl (independently of the code under test). */
export function makeIdpKeys(commonName = "test-idp"): IdpKeys {
  const dir = mkdtempSync(path.join(tmpdir(), "gatehouse-saml-idp-"));
  try {
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", `/CN=${commonName}`, "-keyout", "key.pem", "-out", "cert.pem"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    return { privateKey: readFileSync(path.join(dir, "key.pem"), "utf8"), certificate: readFileSync(path.join(dir, "cert.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export type SamlUser = {
  nameId: string;
  nameIdFormat?: string;
  attributes?: Record<string, string | string[]>;
  sessionIndex?: string;
  authnContext?: string;
};

/** Every value of a response a test may set to something wrong; `null` leaves the attribute out. */
export type ResponseFields = {
  responseId: string;
  assertionId: string;
  issuer: string;
  /** The Response's own Issuer; null leaves it out (it is optional). */
  responseIssuer: string | null;
  destination: string | null;
  recipient: string;
  audience: string;
  inResponseTo: string | null;
  issueInstant: Date;
  notBefore: Date;
  notOnOrAfter: Date;
  subjectNotOnOrAfter: Date;
  authnInstant: Date;
};

/** What gets signed: the assertion (what Gatehouse requires), both, only the Response, or nothing. */
export type SignMode = "assertion" | "both" | "response" | "none";

export type RespondOptions = {
  user: SamlUser;
  sign?: SignMode;
  /** Another IdP whose key signs (its certificate goes into KeyInfo): a forger. */
  signer?: TestSamlIdp;
  set?: Partial<ResponseFields>;
};

/** What the IdP read from an AuthnRequest whose signature it verified against the SP's metadata. */
export type ParsedRequest = { requestId: string; acsUrl: string; relayState?: string; spEntityId: string };

export type PostedResponse = { SAMLResponse: string; RelayState?: string };

export class TestSamlIdp {
  readonly ssoUrl: string;
  readonly sloUrl: string;
  readonly keys: IdpKeys;
  private readonly idp: samlify.IdentityProviderInstance;

  constructor(readonly entityId = `https://idp-${randomBytes(4).toString("hex")}.test.invalid/entity`, keys: IdpKeys = makeIdpKeys()) {
    this.keys = keys;
    this.ssoUrl = `${new URL(entityId).origin}/sso`;
    this.sloUrl = `${new URL(entityId).origin}/slo`;
    this.idp = samlify.IdentityProvider({
      entityID: entityId,
      privateKey: keys.privateKey,
      signingCert: keys.certificate,
      wantAuthnRequestsSigned: true,
      wantLogoutRequestSigned: true,
      singleSignOnService: [{ Binding: BINDING_REDIRECT, Location: this.ssoUrl }],
      singleLogoutService: [{ Binding: BINDING_REDIRECT, Location: this.sloUrl }],
    });
  }

  get certificate(): string {
    return this.keys.certificate;
  }

  /** Reads the AuthnRequest of an HTTP-Redirect URL, verifying its signature over the raw query (saml-bindings 3.4.4.1). */
  async parseAuthnRequest(location: string, spMetadataXml: string): Promise<ParsedRequest> {
    const parsed = await this.idp.parseLoginRequest(this.sp(spMetadataXml), "redirect", redirectMessage(location, this.ssoUrl));
    const request = parsed.extract.request as Record<string, string>;
    const relayState = new URL(location).searchParams.get("RelayState") ?? undefined;
    return { requestId: request.id!, acsUrl: request.assertionConsumerServiceUrl!, relayState, spEntityId: String(parsed.extract.issuer) };
  }

  /** Reads a LogoutRequest sent over HTTP-Redirect to this IdP's SLO endpoint, verifying its signature. */
  async parseLogoutRequest(location: string, spMetadataXml: string): Promise<{ nameId: string; sessionIndex?: string; issuer: string; destination: string }> {
    const parsed = await this.idp.parseLogoutRequest(this.sp(spMetadataXml), "redirect", redirectMessage(location, this.sloUrl));
    const request = parsed.extract.request as Record<string, string>;
    const sessionIndex = parsed.extract.sessionIndex as unknown;
    return { nameId: String(parsed.extract.nameID), sessionIndex: sessionIndex ? String(sessionIndex) : undefined, issuer: String(parsed.extract.issuer), destination: request.destination! };
  }

  /** A base64 SAMLResponse for this SP; InResponseTo set when `request` is given, else unsolicited. */
  async respond(spMetadataXml: string, request: Pick<ParsedRequest, "requestId"> | null, options: RespondOptions): Promise<string> {
    const sp = this.sp(spMetadataXml, options.sign === "both");
    const acsUrl = sp.entityMeta.getAssertionConsumerService("post") as string;
    const fields = defaultFields(this.entityId, sp.entityMeta.getEntityID(), acsUrl, request?.requestId ?? null, options.set);
    const xml = responseXml(fields, options.user);
    const signer = options.signer ?? this;
    const sign = options.sign ?? "assertion";
    if (sign === "none") return Buffer.from(xml).toString("base64");
    if (sign === "response") {
      return samlify.SamlLib.constructSAMLSignature({
        rawSamlMessage: xml, privateKey: signer.keys.privateKey, signingCert: signer.keys.certificate.replace(/-----[A-Z ]+-----|\s+/g, ""), isMessageSigned: true,
        signatureConfig: { prefix: "ds", location: { reference: "/*[local-name(.)='Response']/*[local-name(.)='Issuer']", action: "after" } },
      } as never) as string;
    }
    const response = await signer.idp.createLoginResponse(sp, { extract: { request: { id: fields.inResponseTo ?? "" } } }, "post", {}, {
      customTagReplacement: () => ({ id: fields.responseId, context: xml }),
    });
    return response.context;
  }

  /** The whole IdP side of an SP-initiated login: read the AuthnRequest, answer it. */
  async answer(location: string, spMetadataXml: string, options: RespondOptions): Promise<PostedResponse & { request: ParsedRequest }> {
    const request = await this.parseAuthnRequest(location, spMetadataXml);
    const SAMLResponse = await this.respond(spMetadataXml, request, options);
    return { SAMLResponse, RelayState: request.relayState, request };
  }

  private sp(metadata: string, wantMessageSigned = false): samlify.ServiceProviderInstance {
    return samlify.ServiceProvider({ metadata, wantMessageSigned });
  }
}

/** samlify's view of an HTTP-Redirect message: the query, and the signed octets exactly as they came in the URL. */
function redirectMessage(location: string, endpoint: string): { query: Record<string, string>; octetString: string } {
  const url = new URL(location);
  if (`${url.origin}${url.pathname}` !== endpoint) throw new Error(`the message went to ${url.origin}${url.pathname}, not ${endpoint}`);
  const raw = new Map(url.search.slice(1).split("&").map((pair) => [pair.split("=")[0]!, pair] as const));
  const signed = ["SAMLRequest", "SAMLResponse", "RelayState", "SigAlg"].flatMap((name) => (raw.has(name) ? [raw.get(name)!] : []));
  return { query: Object.fromEntries(url.searchParams), octetString: signed.join("&") };
}

const xmlId = () => `_${randomBytes(16).toString("hex")}`;
const MINUTE = 60 * 1000;

function defaultFields(issuer: string, audience: string, acsUrl: string, inResponseTo: string | null, set: Partial<ResponseFields> = {}): ResponseFields {
  const now = Date.now();
  return {
    responseId: xmlId(), assertionId: xmlId(), issuer, responseIssuer: issuer, destination: acsUrl, recipient: acsUrl, audience, inResponseTo,
    issueInstant: new Date(now), notBefore: new Date(now - MINUTE), notOnOrAfter: new Date(now + 5 * MINUTE),
    subjectNotOnOrAfter: new Date(now + 5 * MINUTE), authnInstant: new Date(now - MINUTE),
    ...set,
  };
}

const esc = (value: string) => value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const attr = (name: string, value: string | null) => (value === null ? "" : ` ${name}="${esc(value)}"`);
const iso = (at: Date) => at.toISOString();

/** A Web SSO profile response, as the common IdPs write it (assertion Issuer first, so the signature can follow it). */
function responseXml(f: ResponseFields, user: SamlUser): string {
  const attributes = Object.entries(user.attributes ?? {})
    .map(([name, value]) => `<saml:Attribute Name="${esc(name)}">${[value].flat().map((v) => `<saml:AttributeValue>${esc(v)}</saml:AttributeValue>`).join("")}</saml:Attribute>`)
    .join("");
  return [
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${f.responseId}" Version="2.0" IssueInstant="${iso(f.issueInstant)}"${attr("Destination", f.destination)}${attr("InResponseTo", f.inResponseTo)}>`,
    f.responseIssuer === null ? "" : `<saml:Issuer>${esc(f.responseIssuer)}</saml:Issuer>`,
    `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>`,
    `<saml:Assertion ID="${f.assertionId}" Version="2.0" IssueInstant="${iso(f.issueInstant)}">`,
    `<saml:Issuer>${esc(f.issuer)}</saml:Issuer>`,
    `<saml:Subject><saml:NameID Format="${esc(user.nameIdFormat ?? NAMEID_EMAIL)}">${esc(user.nameId)}</saml:NameID>`,
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${iso(f.subjectNotOnOrAfter)}"${attr("Recipient", f.recipient)}${attr("InResponseTo", f.inResponseTo)}/></saml:SubjectConfirmation>`,
    `</saml:Subject>`,
    `<saml:Conditions NotBefore="${iso(f.notBefore)}" NotOnOrAfter="${iso(f.notOnOrAfter)}"><saml:AudienceRestriction><saml:Audience>${esc(f.audience)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>`,
    `<saml:AuthnStatement AuthnInstant="${iso(f.authnInstant)}" SessionIndex="${esc(user.sessionIndex ?? xmlId())}"><saml:AuthnContext><saml:AuthnContextClassRef>${esc(user.authnContext ?? PASSWORD_CONTEXT)}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`,
    attributes ? `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>` : "",
    `</saml:Assertion></samlp:Response>`,
  ].join("");
}

/** Decodes a SAMLResponse, lets a test edit the XML, encodes it again (the signatures are not redone). */
export function tamper(samlResponse: string, edit: (xml: string) => string): string {
  return Buffer.from(edit(Buffer.from(samlResponse, "base64").toString("utf8")), "utf8").toString("base64");
}

export function decodeResponse(samlResponse: string): string {
  return Buffer.from(samlResponse, "base64").toString("utf8");
}
