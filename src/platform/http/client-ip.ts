import type { Express, Request } from "express";
import { normaliseIp } from "../ip";

/**
 * The one rule for "who is the client": X-Forwarded-For counts only through proxies listed in
 * TRUST_PROXY (empty: none), and IPv4-mapped IPv6 addresses are reported as plain IPv4.
 * Rate limits, allowlists, audit and sessions all read the address from here.
 */
export function configureTrustProxy(app: Express, trusted: readonly string[]): void {
  app.set("trust proxy", trusted.length > 0 ? [...trusted] : false);
}

export function clientIp(req: Request): string {
  return normaliseIp(req.ip ?? req.socket.remoteAddress ?? "");
}

export { normaliseIp };
