import { DOMParser } from "@xmldom/xmldom";
import { AppError } from "../platform/errors";

const MD = "urn:oasis:names:tc:SAML:2.0:metadata";
const DS = "http://www.w3.org/2000/09/xmldsig#";
const REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
const POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/** What a SAML connection needs from an IdP's metadata; certificates are base64 DER as published. */
export type IdpMetadata = { idpEntityId: string; ssoUrl: string; sloUrl: string | null; certificates: string[] };

const invalid = (message: string) => new AppError("invalid_idp_metadata", `metadataXml: ${message}`, { errors: [{ path: "metadataXml", message }] });

/** Parses IdP metadata. A DOCTYPE is refused before parsing: no DTDs, no entities, no expansion. */
export function parseIdpMetadata(xml: string): IdpMetadata {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw invalid("a DOCTYPE or entity declaration is not allowed");
  const descriptor = singleIdpDescriptor(parseXml(xml));
  const entity = descriptor.parentNode as Element | null;
  const idpEntityId = entity?.getAttribute("entityID")?.trim();
  if (!idpEntityId) throw invalid("the EntityDescriptor has no entityID");
  const ssoUrl = endpoint(descriptor, "SingleSignOnService");
  if (!ssoUrl) throw invalid("no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding");
  const certificates = signingCertificates(descriptor);
  if (certificates.length === 0) throw invalid("no signing certificate (KeyDescriptor use=\"signing\")");
  return { idpEntityId, ssoUrl, sloUrl: endpoint(descriptor, "SingleLogoutService"), certificates };
}

function parseXml(xml: string): Document {
  const problems: string[] = [];
  const record = (message: string) => void problems.push(message.trim().split("\n", 1)[0]!);
  const doc = new DOMParser({ errorHandler: { warning: () => undefined, error: record, fatalError: record } }).parseFromString(xml, "text/xml");
  if (problems.length > 0 || !doc?.documentElement) throw invalid(`not well-formed XML (${problems[0] ?? "empty document"})`);
  return doc;
}

function singleIdpDescriptor(doc: Document): Element {
  const descriptors = Array.from(doc.getElementsByTagNameNS(MD, "IDPSSODescriptor"));
  if (descriptors.length === 0) throw invalid("no IDPSSODescriptor (is this SP metadata?)");
  // An aggregate of several IdPs is ambiguous: the admin must pick one.
  if (descriptors.length > 1) throw invalid("describes more than one identity provider");
  const descriptor = descriptors[0]!;
  if ((descriptor.parentNode as Element | null)?.localName !== "EntityDescriptor") throw invalid("the IDPSSODescriptor is not inside an EntityDescriptor");
  return descriptor;
}

/** The HTTP-Redirect endpoint (what SP-initiated login uses), else the HTTP-POST one. */
function endpoint(descriptor: Element, name: string): string | null {
  const services = Array.from(descriptor.getElementsByTagNameNS(MD, name));
  const find = (binding: string) => services.find((s) => s.getAttribute("Binding") === binding)?.getAttribute("Location")?.trim();
  const location = find(REDIRECT) || find(POST);
  if (!location) return null;
  if (!/^https:\/\//i.test(location)) throw invalid(`${name} Location must be an https URL`);
  return location;
}

function signingCertificates(descriptor: Element): string[] {
  const keys = Array.from(descriptor.getElementsByTagNameNS(MD, "KeyDescriptor")).filter((key) => {
    const use = key.getAttribute("use");
    return !use || use === "signing";
  });
  return keys.flatMap((key) => Array.from(key.getElementsByTagNameNS(DS, "X509Certificate")).map((cert) => (cert.textContent ?? "").replace(/\s+/g, ""))).filter(Boolean);
}
