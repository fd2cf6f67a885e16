import ipaddr from "ipaddr.js";
import { z } from "zod";

export const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** A CIDR (or a single address) normalised to network/prefix; IPv4-mapped IPv6 becomes IPv4. */
export const cidr = z.string().trim().transform((value, ctx) => {
  try {
    let [address, prefix] = value.includes("/") ? ipaddr.parseCIDR(value) : singleAddress(value);
    if (address instanceof ipaddr.IPv6 && address.isIPv4MappedAddress() && prefix >= 96) {
      [address, prefix] = [address.toIPv4Address(), prefix - 96];
    }
    const family = address instanceof ipaddr.IPv4 ? ipaddr.IPv4 : ipaddr.IPv6;
    return `${family.networkAddressFromCIDR(`${address.toString()}/${prefix}`).toString()}/${prefix}`;
  } catch {
    ctx.addIssue({ code: "custom", message: `"${value}" is not an IPv4 or IPv6 CIDR` });
    return z.NEVER;
  }
});

function singleAddress(value: string): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  const address = ipaddr.parse(value);
  return [address, address.kind() === "ipv4" ? 32 : 128];
}

const emailDomains = z
  .array(z.string().trim().toLowerCase().regex(DOMAIN, { error: "not a domain name" }))
  .max(100)
  .transform((domains) => [...new Set(domains)]);

const ipAllowlist = z.array(cidr).max(200).transform((ranges) => [...new Set(ranges)]);
const name = z.string().trim().min(1).max(200);
const idleMinutes = z.number().int().min(1).max(24 * 60);
const absoluteHours = z.number().int().min(1).max(30 * 24);
const contactEmail = z.email().max(320);

const idleWithinAbsolute = (value: { sessionIdleMinutes?: number; sessionAbsoluteHours?: number }) =>
  value.sessionIdleMinutes === undefined || value.sessionAbsoluteHours === undefined || value.sessionIdleMinutes <= value.sessionAbsoluteHours * 60;
const idleWithinAbsoluteIssue = { error: "sessionIdleMinutes cannot exceed the absolute timeout", path: ["sessionIdleMinutes"] };

export function tenantCreateSchema(regions: readonly string[]) {
  return z
    .strictObject({
      slug: z.string().trim().toLowerCase().regex(SLUG, { error: "lower-case letters, digits and dashes; 1-63 characters" }),
      name,
      region: z.string().refine((r) => regions.includes(r), { error: `must be one of: ${regions.join(", ")}` }),
      emailDomains: emailDomains.default([]),
      mfaRequired: z.boolean().default(true),
      requireLocalMfaForSso: z.boolean().default(false),
      ipAllowlist: ipAllowlist.default([]),
      sessionIdleMinutes: idleMinutes.default(30),
      sessionAbsoluteHours: absoluteHours.default(12),
      securityContactEmail: contactEmail.nullish(),
    })
    .refine(idleWithinAbsolute, idleWithinAbsoluteIssue);
}

export const tenantUpdateSchema = z
  .strictObject({
    name: name.optional(),
    emailDomains: emailDomains.optional(),
    mfaRequired: z.boolean().optional(),
    requireLocalMfaForSso: z.boolean().optional(),
    ipAllowlist: ipAllowlist.optional(),
    sessionIdleMinutes: idleMinutes.optional(),
    sessionAbsoluteHours: absoluteHours.optional(),
    securityContactEmail: contactEmail.nullable().optional(),
  })
  .refine(idleWithinAbsolute, idleWithinAbsoluteIssue);

export type TenantCreateInput = z.infer<ReturnType<typeof tenantCreateSchema>>;
export type TenantUpdateInput = z.infer<typeof tenantUpdateSchema>;
