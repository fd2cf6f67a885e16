import { execFileSync } from "node:child_process";
import { randomBytes, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { DOMParser, XMLSerializer } from "@xmldom/xmldom";
import * as samlify from "samlify";
import * as xmlenc from "xml-encryption";

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

/** XML-DSig signature methods a test IdP may sign with (samlify pairs each with its digest: SHA-1 with SHA-1). */
export const RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
export const RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";

/** What gets signed: the assertion (what Gatehouse requires), both, only the Response, or nothing. */
export type SignMode = "assertion" | "both" | "response" | "none";

/** XML Encryption algorithms a test IdP may encrypt an assertion with. */
export const RSA_OAEP = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p" as const;
export const RSA_1_5 = "http://www.w3.org/2001/04/xmlenc#rsa-1_5" as const;
export const AES256_GCM = "http://www.w3.org/2009/xmlenc11#aes256-gcm" as const;
export const AES128_GCM = "http://www.w3.org/2009/xmlenc11#aes128-gcm" as const;
export const AES256_CBC = "http://www.w3.org/2001/04/xmlenc#aes256-cbc" as const;
export const AES128_CBC = "http://www.w3.org/2001/04/xmlenc#aes128-cbc" as const;
export const TRIPLEDES_CBC = "http://www.w3.org/2001/04/xmlenc#tripledes-cbc" as const;

/** How the IdP encrypts the assertion (after signing it, as IdPs do): RSA-OAEP and AES-256-GCM unless set. */
export type AssertionEncryption = {
  /** The certificate encrypted to; the SP metadata's encryption certificate unless set (another: a stranger's key). */
  certificate?: string;
  keyTransport?: xmlenc.KeyEncryptionAlgorithm;
  content?: xmlenc.EncryptionAlgorithm;
};

export type RespondOptions = {
  user: SamlUser;
  sign?: SignMode;
  /** Encrypt the assertion (an EncryptedAssertion in the Response); a signed Response is signed over it. */
  encrypt?: AssertionEncryption;
  /** Another IdP whose key signs (its certificate goes into KeyInfo): a forger. */
  signer?: TestSamlIdp;
  set?: Partial<ResponseFields>;
  /** The signature method (and so the digest) of every signature made; RSA-SHA256 unless set. */
  signatureAlgorithm?: string;
};

/** What the IdP read from an AuthnRequest whose signature it verified against the SP's metadata. */
export type ParsedRequest = { requestId: string; acsUrl: string; relayState?: string; spEntityId: string };

export type PostedResponse = { SAMLResponse: string; RelayState?: string };

/** Every value of a logout message a test may set to something wrong; `null` leaves the attribute out. */
export type LogoutFields = { id: string; issuer: string; destination: string | null; issueInstant: Date; notOnOrAfter: Date | null };

export type LogoutMessageOptions = {
  binding: "redirect" | "post";
  /** false: no signature at all. */
  sign?: boolean;
  /** Another IdP whose key signs: a forger. */
  signer?: TestSamlIdp;
  relayState?: string;
  set?: Partial<LogoutFields>;
  /** HTTP-Redirect SigAlg, or the XML signature method over HTTP-POST; RSA-SHA256 unless set. */
  signatureAlgorithm?: string;
};

/** A logout message on its way to the SP: the URL to GET (HTTP-Redirect) or the form to POST (HTTP-POST). */
export type LogoutDelivery = { id: string; url?: string; form?: Record<string, string> };

export class TestSamlIdp {
  readonly ssoUrl: string;
  readonly sloUrl: string;
  readonly keys: IdpKeys;
  private readonly idp: samlify.IdentityProviderInstance;
  /** The same IdP signing with another algorithm, made when a test first asks for it. */
  private readonly idpsByAlgorithm = new Map<string, samlify.IdentityProviderInstance>();

  constructor(readonly entityId = `https://idp-${randomBytes(4).toString("hex")}.test.invalid/entity`, keys: IdpKeys = makeIdpKeys()) {
    this.keys = keys;
    this.ssoUrl = `${new URL(entityId).origin}/sso`;
    this.sloUrl = `${new URL(entityId).origin}/slo`;
    this.idp = this.makeIdp(RSA_SHA256);
  }

  private makeIdp(requestSignatureAlgorithm: string): samlify.IdentityProviderInstance {
    return samlify.IdentityProvider({
      entityID: this.entityId,
      privateKey: this.keys.privateKey,
      signingCert: this.keys.certificate,
      wantAuthnRequestsSigned: true,
      wantLogoutRequestSigned: true,
      wantLogoutResponseSigned: true,
      requestSignatureAlgorithm,
      singleSignOnService: [{ Binding: BINDING_REDIRECT, Location: this.ssoUrl }],
      singleLogoutService: [{ Binding: BINDING_REDIRECT, Location: this.sloUrl }],
    });
  }

  private signingWith(algorithm: string | undefined): samlify.IdentityProviderInstance {
    if (!algorithm || algorithm === RSA_SHA256) return this.idp;
    let idp = this.idpsByAlgorithm.get(algorithm);
    if (!idp) this.idpsByAlgorithm.set(algorithm, (idp = this.makeIdp(algorithm)));
    return idp;
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
  async parseLogoutRequest(location: string, spMetadataXml: string): Promise<{ id: string; nameId: string; sessionIndex?: string; issuer: string; destination: string }> {
    const parsed = await this.idp.parseLogoutRequest(this.sp(spMetadataXml), "redirect", redirectMessage(location, this.sloUrl));
    const request = parsed.extract.request as Record<string, string>;
    const sessionIndex = parsed.extract.sessionIndex as unknown;
    return { id: request.id!, nameId: String(parsed.extract.nameID), sessionIndex: sessionIndex ? String(sessionIndex) : undefined, issuer: String(parsed.extract.issuer), destination: request.destination! };
  }

  /** A base64 SAMLResponse for this SP; InResponseTo set when `request` is given, else unsolicited. */
  async respond(spMetadataXml: string, request: Pick<ParsedRequest, "requestId"> | null, options: RespondOptions): Promise<string> {
    // With encryption, the Response is signed here after encrypting, not by samlify before.
    const sp = this.sp(spMetadataXml, options.sign === "both" && !options.encrypt);
    const acsUrl = sp.entityMeta.getAssertionConsumerService("post") as string;
    const fields = defaultFields(this.entityId, sp.entityMeta.getEntityID(), acsUrl, request?.requestId ?? null, options.set);
    const xml = responseXml(fields, options.user);
    const signer = options.signer ?? this;
    const sign = options.sign ?? "assertion";
    if (options.encrypt) {
      // Sign the assertion, encrypt it, then sign the Response over the EncryptedAssertion (as ADFS and Okta do).
      const assertionSigned = sign === "assertion" || sign === "both" ? decodeResponse(await this.respondSigned(sp, fields, xml, signer, options.signatureAlgorithm)) : xml;
      const encrypted = await encryptAssertion(assertionSigned, options.encrypt.certificate ?? spEncryptionCertificate(spMetadataXml), options.encrypt);
      if (sign === "response" || sign === "both") return signWholeResponse(encrypted, signer, options.signatureAlgorithm);
      return Buffer.from(encrypted).toString("base64");
    }
    if (sign === "none") return Buffer.from(xml).toString("base64");
    if (sign === "response") return signWholeResponse(xml, signer, options.signatureAlgorithm);
    return this.respondSigned(sp, fields, xml, signer, options.signatureAlgorithm);
  }

  /** samlify signs the assertion (and the Response too when the SP metadata object wants it). */
  private async respondSigned(sp: samlify.ServiceProviderInstance, fields: ResponseFields, xml: string, signer: TestSamlIdp, algorithm: string | undefined): Promise<string> {
    const response = await signer.signingWith(algorithm).createLoginResponse(sp, { extract: { request: { id: fields.inResponseTo ?? "" } } }, "post", {}, {
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

  /**
   * The IdP's refusal of an SP-initiated login: a Response with a non-Success status and no assertion,
   * unsigned, as IdPs commonly send them (`Responder` with the second-level `status`, e.g. NoAuthnContext).
   */
  async refuse(location: string, spMetadataXml: string, status: string): Promise<PostedResponse & { request: ParsedRequest }> {
    const request = await this.parseAuthnRequest(location, spMetadataXml);
    const f = defaultFields(this.entityId, "", request.acsUrl, request.requestId);
    const xml = [
      `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${f.responseId}" Version="2.0" IssueInstant="${iso(f.issueInstant)}"${attr("Destination", f.destination)}${attr("InResponseTo", f.inResponseTo)}>`,
      `<saml:Issuer>${esc(this.entityId)}</saml:Issuer>`,
      `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"><samlp:StatusCode Value="${esc(status)}"/></samlp:StatusCode></samlp:Status>`,
      `</samlp:Response>`,
    ].join("");
    return { SAMLResponse: Buffer.from(xml).toString("base64"), RelayState: request.relayState, request };
  }

  /**
   * An IdP-initiated LogoutRequest for this SP's SingleLogoutService (from its metadata), about `user`'s
   * NameID and, when given, the IdP sessions to end.
   */
  logoutRequest(spMetadataXml: string, user: { nameId: string; nameIdFormat?: string; sessionIndexes?: string[] }, options: LogoutMessageOptions): LogoutDelivery {
    const sp = this.logoutSp(spMetadataXml, options.sign !== false);
    const fields = logoutFields(this.entityId, sp.entityMeta.getSingleLogoutService(options.binding) as string, options.set);
    const xml = logoutRequestXml(fields, user);
    const signer = options.signer ?? this;
    const made = signer.signingWith(options.signatureAlgorithm).createLogoutRequest(sp, options.binding, { logoutNameID: user.nameId }, { relayState: options.relayState, customTagReplacement: () => ({ id: fields.id, context: xml }) });
    return delivery(fields.id, made as unknown as { context: string; relayState?: string }, "SAMLRequest", options.binding);
  }

  /** The IdP's LogoutResponse (Success unless `status` says otherwise) to the SP's LogoutRequest `inResponseTo`. */
  logoutResponse(spMetadataXml: string, inResponseTo: string, options: LogoutMessageOptions & { status?: string }): LogoutDelivery {
    const sp = this.logoutSp(spMetadataXml, options.sign !== false);
    const fields = logoutFields(this.entityId, sp.entityMeta.getSingleLogoutService(options.binding) as string, options.set);
    const xml = logoutResponseXml(fields, inResponseTo, options.status ?? "urn:oasis:names:tc:SAML:2.0:status:Success");
    const signer = options.signer ?? this;
    const made = signer.signingWith(options.signatureAlgorithm).createLogoutResponse(sp, { extract: { request: { id: inResponseTo } } }, options.binding, { relayState: options.relayState, customTagReplacement: () => ({ id: fields.id, context: xml }) });
    return delivery(fields.id, made as unknown as { context: string; relayState?: string }, "SAMLResponse", options.binding);
  }

  /** Reads the SP's LogoutResponse sent over HTTP-Redirect to this IdP's SLO endpoint, verifying its signature against the SP metadata. */
  async parseLogoutResponse(location: string, spMetadataXml: string): Promise<{ inResponseTo: string; issuer: string; destination: string; status: string; relayState?: string }> {
    const parsed = await this.idp.parseLogoutResponse(this.sp(spMetadataXml), "redirect", redirectMessage(location, this.sloUrl));
    const response = parsed.extract.response as Record<string, string>;
    const status = /<(?:\w+:)?StatusCode[^>]*Value="([^"]+)"/.exec(parsed.samlContent)?.[1] ?? "";
    const relayState = new URL(location).searchParams.get("RelayState") ?? undefined;
    return { inResponseTo: response.inResponseTo!, issuer: String(parsed.extract.issuer), destination: response.destination!, status, relayState };
  }

  /** The SP as samlify sees it for logout messages: it wants them signed unless a test sends them unsigned. */
  private logoutSp(metadata: string, signed: boolean): samlify.ServiceProviderInstance {
    return samlify.ServiceProvider({ metadata, wantLogoutRequestSigned: signed, wantLogoutResponseSigned: signed });
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

function logoutFields(issuer: string, destination: string, set: Partial<LogoutFields> = {}): LogoutFields {
  const now = Date.now();
  return { id: xmlId(), issuer, destination, issueInstant: new Date(now), notOnOrAfter: new Date(now + 5 * MINUTE), ...set };
}

function logoutRequestXml(f: LogoutFields, user: { nameId: string; nameIdFormat?: string; sessionIndexes?: string[] }): string {
  return [
    `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${f.id}" Version="2.0" IssueInstant="${iso(f.issueInstant)}"${attr("Destination", f.destination)}${f.notOnOrAfter ? attr("NotOnOrAfter", iso(f.notOnOrAfter)) : ""}>`,
    `<saml:Issuer>${esc(f.issuer)}</saml:Issuer>`,
    `<saml:NameID Format="${esc(user.nameIdFormat ?? NAMEID_EMAIL)}">${esc(user.nameId)}</saml:NameID>`,
    ...(user.sessionIndexes ?? []).map((index) => `<samlp:SessionIndex>${esc(index)}</samlp:SessionIndex>`),
    `</samlp:LogoutRequest>`,
  ].join("");
}

function logoutResponseXml(f: LogoutFields, inResponseTo: string, status: string): string {
  return [
    `<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${f.id}" Version="2.0" IssueInstant="${iso(f.issueInstant)}"${attr("Destination", f.destination)} InResponseTo="${esc(inResponseTo)}">`,
    `<saml:Issuer>${esc(f.issuer)}</saml:Issuer>`,
    `<samlp:Status><samlp:StatusCode Value="${esc(status)}"/></samlp:Status>`,
    `</samlp:LogoutResponse>`,
  ].join("");
}

/** Signs the Response as a whole (its signature after its Issuer), base64. */
function signWholeResponse(xml: string, signer: TestSamlIdp, algorithm: string | undefined): string {
  return samlify.SamlLib.constructSAMLSignature({
    rawSamlMessage: xml, privateKey: signer.keys.privateKey, signingCert: signer.keys.certificate.replace(/-----[A-Z ]+-----|\s+/g, ""), isMessageSigned: true,
    signatureAlgorithm: algorithm ?? RSA_SHA256,
    signatureConfig: { prefix: "ds", location: { reference: "/*[local-name(.)='Response']/*[local-name(.)='Issuer']", action: "after" } },
  } as never) as string;
}

const SAML_ASSERTION_NS = "urn:oasis:names:tc:SAML:2.0:assertion";
const MD = "urn:oasis:names:tc:SAML:2.0:metadata";
const DSIG_NS = "http://www.w3.org/2000/09/xmldsig#";
const encrypt = promisify(xmlenc.encrypt);

/** The certificate of the SP metadata's KeyDescriptor use="encryption", as PEM. */
export function spEncryptionCertificate(spMetadataXml: string): string {
  const doc = new DOMParser().parseFromString(spMetadataXml, "text/xml");
  const descriptor = Array.from(doc.getElementsByTagNameNS(MD, "KeyDescriptor")).find((d) => d.getAttribute("use") === "encryption");
  const base64 = descriptor?.getElementsByTagNameNS(DSIG_NS, "X509Certificate")[0]?.textContent?.replace(/\s+/g, "");
  if (!base64) throw new Error("the SP metadata has no encryption certificate");
  return `-----BEGIN CERTIFICATE-----\n${base64.match(/.{1,64}/g)!.join("\n")}\n-----END CERTIFICATE-----\n`;
}

/**
 * Replaces the Response's Assertion with an EncryptedAssertion: the assertion (namespaces included, signature
 * and all) encrypted with a fresh content key, that key encrypted to `certificate` (xml-encryption).
 */
async function encryptAssertion(responseXml: string, certificate: string, options: AssertionEncryption): Promise<string> {
  const doc = new DOMParser().parseFromString(responseXml, "text/xml");
  const assertion = doc.getElementsByTagNameNS(SAML_ASSERTION_NS, "Assertion")[0];
  if (!assertion) throw new Error("no assertion to encrypt");
  const plaintext = new XMLSerializer().serializeToString(assertion);
  const encryptedData = await encrypt(plaintext, {
    rsa_pub: new X509Certificate(certificate).publicKey.export({ type: "spki", format: "pem" }), pem: certificate,
    keyEncryptionAlgorithm: options.keyTransport ?? RSA_OAEP, encryptionAlgorithm: options.content ?? AES256_GCM,
    disallowEncryptionWithInsecureAlgorithm: false, warnInsecureAlgorithm: false,
  });
  const wrapper = new DOMParser().parseFromString(`<saml:EncryptedAssertion xmlns:saml="${SAML_ASSERTION_NS}">${encryptedData}</saml:EncryptedAssertion>`, "text/xml").documentElement!;
  assertion.parentNode!.replaceChild(doc.importNode(wrapper, true), assertion);
  return new XMLSerializer().serializeToString(doc);
}

/**
 * Encrypts the assertion of a response with xmlsec1 (independent of xml-encryption, as Shibboleth-style IdPs
 * do): AES-256-CBC content, its key encrypted to `certificate` with RSA-OAEP, inside an EncryptedAssertion.
 */
export function encryptAssertionWithXmlsec(samlResponse: string, certificate: string): string {
  const template = [
    `<xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" Type="http://www.w3.org/2001/04/xmlenc#Element">`,
    `<xenc:EncryptionMethod Algorithm="${AES256_CBC}"/>`,
    `<ds:KeyInfo xmlns:ds="${DSIG_NS}"><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="${RSA_OAEP}"/>`,
    `<xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>`,
    `<xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedData>`,
  ].join("");
  const dir = mkdtempSync(path.join(tmpdir(), "gatehouse-xmlsec-enc-"));
  try {
    writeFileSync(path.join(dir, "sp.pem"), certificate);
    writeFileSync(path.join(dir, "template.xml"), template);
    // libxml2 writes the encrypted element without the namespaces it inherits: declare saml: on the assertion
    // itself, as IdPs do (exclusive canonicalisation, and so the signature, is the same either way).
    writeFileSync(path.join(dir, "response.xml"), decodeResponse(samlResponse).replace("<saml:Assertion ", `<saml:Assertion xmlns:saml="${SAML_ASSERTION_NS}" `));
    execFileSync("xmlsec1", [
      "--encrypt", "--pubkey-cert-pem", "sp.pem", "--session-key", "aes-256", "--xml-data", "response.xml",
      "--node-name", `${SAML_ASSERTION_NS}:Assertion`, "--output", "out.xml", "template.xml",
    ], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    const xml = readFileSync(path.join(dir, "out.xml"), "utf8")
      .replace(/<xenc:EncryptedData[\s\S]*<\/xenc:EncryptedData>/, (data) => `<saml:EncryptedAssertion>${data}</saml:EncryptedAssertion>`);
    return Buffer.from(xml, "utf8").toString("base64");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** samlify's redirect URL, or its POST context turned into the form a browser would post. */
function delivery(id: string, made: { context: string; relayState?: string }, field: "SAMLRequest" | "SAMLResponse", binding: "redirect" | "post"): LogoutDelivery {
  if (binding === "redirect") return { id, url: made.context };
  return { id, form: { [field]: made.context, ...(made.relayState ? { RelayState: made.relayState } : {}) } };
}

/** Decodes a SAMLResponse, lets a test edit the XML, encodes it again (the signatures are not redone). */
export function tamper(samlResponse: string, edit: (xml: string) => string): string {
  return Buffer.from(edit(Buffer.from(samlResponse, "base64").toString("utf8")), "utf8").toString("base64");
}

export function decodeResponse(samlResponse: string): string {
  return Buffer.from(samlResponse, "base64").toString("utf8");
}

/**
 * Signs the assertion of a response made with `sign: "none"` using xmlsec1 (independent of samlify and
 * xml-crypto), with any signature and digest method, even pairs samlify would not make (RSA-SHA256 over a
 * SHA-1 digest).
 */
export function signAssertionWithXmlsec(samlResponse: string, keys: IdpKeys, methods: { signature: string; digest: string }): string {
  const xml = decodeResponse(samlResponse);
  const assertionId = /<saml:Assertion ID="([^"]+)"/.exec(xml)?.[1];
  if (!assertionId) throw new Error("no assertion to sign");
  const template = [
    `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>`,
    `<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="${methods.signature}"/>`,
    `<ds:Reference URI="#${assertionId}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>`,
    `<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="${methods.digest}"/><ds:DigestValue/></ds:Reference>`,
    `</ds:SignedInfo><ds:SignatureValue/></ds:Signature>`,
  ].join("");
  // The assertion's signature follows its Issuer (the schema's order).
  const unsigned = xml.replace(/(<saml:Assertion [^>]*>\s*<saml:Issuer>[^<]*<\/saml:Issuer>)/, `$1${template}`);
  const dir = mkdtempSync(path.join(tmpdir(), "gatehouse-xmlsec-"));
  try {
    writeFileSync(path.join(dir, "key.pem"), keys.privateKey);
    writeFileSync(path.join(dir, "in.xml"), unsigned);
    execFileSync("xmlsec1", ["--sign", "--privkey-pem", "key.pem", "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion", "--output", "out.xml", "in.xml"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    return Buffer.from(readFileSync(path.join(dir, "out.xml"), "utf8"), "utf8").toString("base64");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const CIPHER_VALUE = /(<xenc:CipherValue>)([^<]+)(<\/xenc:CipherValue>)/g;

/**
 * Flips one base64 character of a CipherValue: the EncryptedKey's (the first) or the EncryptedData's (the
 * last): in its first cipher block (for CBC: the assertion's start tag garbled), its middle, or its last block
 * (where CBC padding sits). CBC is malleable: a flip in the middle may only garble the signature's KeyInfo,
 * which no signature covers and which is ignored, and the assertion still verifies; tests aim at signed bytes.
 */
export function flipCipherValue(form: PostedResponse, which: "key" | "content", where: "start" | "middle" | "end"): PostedResponse {
  const SAMLResponse = tamper(form.SAMLResponse, (xml) => {
    const values = [...xml.matchAll(CIPHER_VALUE)];
    const target = which === "key" ? values[0]! : values.at(-1)!;
    const value = target[2]!.replace(/\s+/g, "");
    // The IV is the first 16 bytes (about 22 base64 characters); character 30 falls into the first cipher block.
    const at = where === "start" ? 30 : where === "middle" ? Math.floor(value.length / 2) : value.replace(/=+$/, "").length - 3;
    const flipped = `${value.slice(0, at)}${value[at] === "A" ? "B" : "A"}${value.slice(at + 1)}`;
    return xml.slice(0, target.index) + target[1] + flipped + target[3] + xml.slice(target.index! + target[0].length);
  });
  expect(SAMLResponse).not.toBe(form.SAMLResponse);
  return { ...form, SAMLResponse };
}
