import { X509Certificate } from "node:crypto";
import { AppError, type FieldError } from "../platform/errors";

const DAY_MS = 24 * 60 * 60 * 1000;
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** What the admin API shows of a signing certificate; the PEM itself is not echoed back. */
export type CertificateSummary = { subject: string; notAfter: string; daysLeft: number; fingerprint256: string };

type Parsed = { ok: true; pem: string; summary: CertificateSummary } | { ok: false; reason: string };

/** IdP metadata carries bare base64 DER; the API stores and compares PEM. */
export function pemFromBase64(base64: string): string {
  const body = base64.replace(/\s+/g, "");
  return `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)?.join("\n") ?? ""}\n-----END CERTIFICATE-----\n`;
}

export function summariseCertificate(cert: X509Certificate, now: Date): CertificateSummary {
  const notAfter = new Date(cert.validTo);
  return {
    subject: cert.subject.replace(/\n/g, ", "),
    notAfter: notAfter.toISOString(),
    daysLeft: Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS),
    fingerprint256: cert.fingerprint256,
  };
}

/** One PEM certificate, nothing else in the text (a pasted private key is refused, never stored). */
export function parseCertificate(text: string, now: Date): Parsed {
  const blocks = [...text.matchAll(PEM_BLOCK)];
  if (blocks.some((block) => block[1] !== "CERTIFICATE")) return { ok: false, reason: "contains something other than a certificate (a private key?)" };
  if (blocks.length !== 1) return { ok: false, reason: blocks.length === 0 ? "is not a PEM certificate" : "holds more than one certificate; send each separately" };
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(blocks[0]![0]);
  } catch {
    return { ok: false, reason: "is not a valid X.509 certificate" };
  }
  const summary = summariseCertificate(cert, now);
  // An expired signing certificate would break every login at once; refuse it at save time.
  if (Date.parse(summary.notAfter) <= now.getTime()) return { ok: false, reason: `expired on ${summary.notAfter}` };
  return { ok: true, pem: cert.toString(), summary };
}

/** All certificates, or a 400 `invalid_certificate` naming each bad one by index. */
export function requireValidCertificates(texts: readonly string[], now: Date, field = "certificates"): string[] {
  const parsed = texts.map((text) => parseCertificate(text, now));
  const errors: FieldError[] = parsed.flatMap((result, index) => (result.ok ? [] : [{ path: `${field}.${index}`, message: `certificate ${index} ${result.reason}` }]));
  if (errors.length > 0) throw new AppError("invalid_certificate", errors.map((e) => e.message).join("; "), { errors });
  const pems = parsed.map((result) => (result.ok ? result.pem : ""));
  return [...new Set(pems)];
}

/** Summaries for stored certificates; a stored one that no longer parses is shown, not hidden. */
export function summariseStored(pems: readonly string[], now: Date): CertificateSummary[] {
  return pems.map((pem) => {
    try {
      return summariseCertificate(new X509Certificate(pem), now);
    } catch {
      return { subject: "(unreadable)", notAfter: new Date(0).toISOString(), daysLeft: -1, fingerprint256: "" };
    }
  });
}
