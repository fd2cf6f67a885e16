import ipaddr from "ipaddr.js";

/** The one parsing of a client address: IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes the IPv4 address. */
export function parseIp(address: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  return ipaddr.isValid(address) ? ipaddr.process(address) : null;
}

/** The canonical text of an address (what sessions, audit and throttling record); unparsable input unchanged. */
export function normaliseIp(address: string): string {
  return parseIp(address)?.toString() ?? address;
}
