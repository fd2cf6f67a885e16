import { createPublicKey, randomBytes, sign, type KeyObject } from "node:crypto";

/**
 * A self-signed X.509 v3 certificate (RSA, SHA-256) for an RSA key pair. SAML peers take the SP's public
 * key only inside a certificate; nobody validates its chain, so the smallest valid certificate will do.
 * node:crypto parses certificates but cannot make one: this writes the DER (RFC 5280) itself, which is
 * cheaper than a dependency for one fixed shape.
 */
export function selfSignedCertificate(input: { privateKey: KeyObject; commonName: string; notBefore: Date; notAfter: Date }): string {
  const spki = createPublicKey(input.privateKey).export({ type: "spki", format: "der" });
  const sha256WithRsa = sequence(oid("1.2.840.113549.1.1.11"), NULL);
  const name = sequence(set(sequence(oid("2.5.4.3"), utf8(input.commonName))));
  // keyUsage (critical): digitalSignature only; it signs SAML messages, never other certificates.
  const keyUsage = sequence(oid("2.5.29.15"), tlv(0x01, Buffer.from([0xff])), octetString(tlv(0x03, Buffer.from([0x07, 0x80]))));
  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))),
    integer(serialNumber()),
    sha256WithRsa,
    name,
    sequence(time(input.notBefore), time(input.notAfter)),
    name,
    spki,
    explicit(3, sequence(keyUsage)),
  );
  const signature = sign("sha256", tbs, input.privateKey);
  const der = sequence(tbs, sha256WithRsa, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const body = der.toString("base64").match(/.{1,64}/g)!.join("\n");
  return `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
}

const NULL = Buffer.from([0x05, 0x00]);

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), length(content.length), content]);
}

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const sequence = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));
const explicit = (n: number, inner: Buffer) => tlv(0xa0 + n, inner);
const octetString = (content: Buffer) => tlv(0x04, content);
const utf8 = (text: string) => tlv(0x0c, Buffer.from(text, "utf8"));

/** A DER INTEGER of unsigned big-endian bytes: a leading zero keeps it positive. */
function integer(bytes: Buffer): Buffer {
  return tlv(0x02, bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

/** 16 random bytes, first bit clear and first byte non-zero: positive, minimal, at most 20 octets (RFC 5280 4.1.2.2). */
function serialNumber(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes;
}

function oid(dotted: string): Buffer {
  const [first, second, ...rest] = dotted.split(".").map(Number);
  const out = [40 * first! + second!];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let value = arc >>> 7; value > 0; value >>>= 7) chunk.unshift((value & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** UTCTime until 2049, GeneralizedTime from 2050 on (RFC 5280 4.1.2.5). */
function time(at: Date): Buffer {
  const iso = at.toISOString().replace(/\.\d{3}/, "").replace(/[-:T]/g, "");
  return at.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2), "ascii")) : tlv(0x18, Buffer.from(iso, "ascii"));
}
