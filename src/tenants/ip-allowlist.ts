import ipaddr from "ipaddr.js";
import { parseIp } from "../platform/ip";

/** An empty allowlist allows everyone; otherwise the client IP must fall in one of the CIDRs. */
export function isIpAllowed(allowlist: readonly string[], ip: string): boolean {
  if (allowlist.length === 0) return true;
  const address = parseIp(ip);
  if (!address) return false;
  return allowlist.some((cidr) => {
    try {
      const range = ipaddr.parseCIDR(cidr);
      return address.kind() === range[0].kind() && address.match(range);
    } catch {
      return false;
    }
  });
}
