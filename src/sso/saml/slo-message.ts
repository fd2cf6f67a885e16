import { inflateRawSync } from "node:zlib";
import { z } from "zod";
import { AppError } from "../../platform/errors";
import { SsoRefused } from "../sso-errors";
import { ACS_BODY_LIMIT } from "./saml-settings";

export type SloKind = "LogoutRequest" | "LogoutResponse";

/** A logout message as received, decoded but not parsed or verified yet. */
export type SloMessage = {
  kind: SloKind;
  xml: string;
  relayState?: string;
  /** HTTP-Redirect only: the signed octets exactly as they came in the URL, and the detached signature. */
  redirect?: { octets: string; sigAlg?: string; signature?: string };
};

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const MAX_RELAY_STATE = 1024;
// saml-bindings 3.4.4.1: the signature covers these parameters, in this order, as they appear in the URL.
const SIGNED_PARAMETERS = ["SAMLRequest", "SAMLResponse", "RelayState", "SigAlg"] as const;
const PARAMETERS = new Set<string>([...SIGNED_PARAMETERS, "Signature"]);

/**
 * The HTTP-Redirect binding, read from the raw query (never from a parsed one: the signature is over the
 * URL-encoded text). Each SAML parameter at most once, so what is verified is what is read.
 */
export function readRedirectMessage(originalUrl: string): SloMessage {
  const query = originalUrl.includes("?") ? originalUrl.slice(originalUrl.indexOf("?") + 1) : "";
  const raw = new Map<string, string>();
  for (const pair of query.split("&")) {
    const at = pair.indexOf("=");
    const name = at < 0 ? pair : pair.slice(0, at);
    if (!PARAMETERS.has(name)) continue;
    if (raw.has(name)) throw new SsoRefused("malformed");
    raw.set(name, at < 0 ? "" : pair.slice(at + 1));
  }
  const kind = messageKind(raw.has("SAMLRequest"), raw.has("SAMLResponse"));
  const encoded = formDecode(raw.get(kind === "LogoutRequest" ? "SAMLRequest" : "SAMLResponse")!);
  const octets = SIGNED_PARAMETERS.filter((name) => raw.has(name)).map((name) => `${name}=${raw.get(name)}`).join("&");
  const optional = (name: string) => (raw.has(name) ? formDecode(raw.get(name)!) : undefined);
  return {
    kind,
    xml: withoutDoctype(inflate(encoded)),
    relayState: relayStateOf(optional("RelayState")),
    redirect: { octets, sigAlg: optional("SigAlg"), signature: optional("Signature") },
  };
}

// Other fields of the form are ignored; a repeated SAML field (an array) is refused.
const postForm = z.object({ SAMLRequest: z.string().optional(), SAMLResponse: z.string().optional(), RelayState: z.string().optional() });

/** The HTTP-POST binding: the form the IdP's page posted (the body parser already held it to ACS_BODY_LIMIT). */
export function readPostMessage(body: unknown): SloMessage {
  const form = postForm.safeParse(body ?? {});
  if (!form.success) throw new SsoRefused("malformed");
  const { SAMLRequest: request, SAMLResponse: response, RelayState: relayState } = form.data;
  const kind = messageKind(request !== undefined, response !== undefined);
  const encoded = (request ?? response)!.replace(/\s+/g, "");
  if (!BASE64.test(encoded)) throw new SsoRefused("malformed");
  return { kind, xml: withoutDoctype(Buffer.from(encoded, "base64").toString("utf8")), relayState: relayStateOf(relayState) };
}

function messageKind(hasRequest: boolean, hasResponse: boolean): SloKind {
  if (hasRequest === hasResponse) throw new SsoRefused("malformed");
  return hasRequest ? "LogoutRequest" : "LogoutResponse";
}

function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, " "));
  } catch {
    throw new SsoRefused("malformed");
  }
}

/** DEFLATE, base64: inflated no further than the body limit, so a small URL cannot become a large document. */
function inflate(encoded: string): string {
  const compact = encoded.replace(/\s+/g, "");
  if (!BASE64.test(compact)) throw new SsoRefused("malformed");
  try {
    return inflateRawSync(Buffer.from(compact, "base64"), { maxOutputLength: ACS_BODY_LIMIT }).toString("utf8");
  } catch (error) {
    if ((error as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") throw new AppError("payload_too_large", "The sign-out message is larger than allowed");
    throw new SsoRefused("malformed", { cause: error });
  }
}

function withoutDoctype(xml: string): string {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new SsoRefused("doctype");
  return xml;
}

function relayStateOf(value: string | undefined): string | undefined {
  return value !== undefined && value.length > 0 && value.length <= MAX_RELAY_STATE ? value : undefined;
}
