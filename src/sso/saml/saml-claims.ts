import { groupsOf } from "../link-identity";
import type { SsoAuthentication } from "../sso-login.service";
import type { CheckedAssertion } from "./assertion-checks";

const EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

/** Attribute names IdPs use when the connection maps none: friendly names, LDAP OIDs, the Microsoft claim URIs. */
const DEFAULT_NAMES = {
  email: ["email", "mail", "emailAddress", "urn:oid:0.9.2342.19200300.100.1.3", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"],
  firstName: ["firstName", "givenName", "given_name", "urn:oid:2.5.4.42", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname"],
  lastName: ["lastName", "sn", "surname", "family_name", "urn:oid:2.5.4.4", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname"],
  name: ["displayName", "name", "urn:oid:2.16.840.1.113730.3.1.241", "http://schemas.microsoft.com/identity/claims/displayname"],
} as const;
const DEFAULT_GROUP_NAMES = ["groups", "memberOf", "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups", "http://schemas.xmlsoap.org/claims/Group"];

type Field = keyof typeof DEFAULT_NAMES;
type Mapping = Partial<Record<Field | "groups", string>>;

// SAML AuthnContextClassRef -> RFC 8176 `amr` values.
const AMR: Array<[RegExp, string[]]> = [
  [/refeds\.org\/profile\/mfa|multifactor|MobileTwoFactor/i, ["mfa"]],
  [/TimeSyncToken/i, ["otp", "mfa"]],
  [/Smartcard|X509/i, ["sc"]],
  [/Kerberos|windows/i, ["wia"]],
  [/Password/i, ["pwd"]],
];

/**
 * The claims of a checked assertion. The subject is the NameID with its format: the same value in two
 * formats is two identities. Email comes from an emailAddress NameID, else from the mapped (or a
 * well-known) attribute; the signed assertion stands for it being verified.
 */
export function samlAuthentication(assertion: CheckedAssertion, attributeMapping: unknown): SsoAuthentication {
  const mapping = mappingOf(attributeMapping);
  const first = (field: Field) => {
    const names = mapping[field] ? [mapping[field]] : DEFAULT_NAMES[field];
    for (const name of names) {
      const value = assertion.attributes.get(name)?.[0];
      if (value) return value.slice(0, 320);
    }
    return undefined;
  };
  const email = assertion.nameIdFormat === EMAIL_FORMAT ? assertion.nameId : first("email");
  // Every value of the first group attribute present: an IdP sends one value per group.
  const groupAttribute = (mapping.groups ? [mapping.groups] : DEFAULT_GROUP_NAMES).find((name) => assertion.attributes.has(name));
  return {
    claims: {
      subject: `${assertion.nameIdFormat}|${assertion.nameId}`,
      email,
      emailVerified: email !== undefined,
      firstName: first("firstName"),
      lastName: first("lastName"),
      name: first("name"),
      groups: groupAttribute ? groupsOf(assertion.attributes.get(groupAttribute)) : undefined,
    },
    amr: AMR.find(([pattern]) => pattern.test(assertion.authnContext ?? ""))?.[1] ?? [],
    sso: { authnContext: assertion.authnContext, nameId: assertion.nameId, nameIdFormat: assertion.nameIdFormat, sessionIndex: assertion.sessionIndex },
  };
}

function mappingOf(value: unknown): Mapping {
  if (!value || typeof value !== "object" || Array.isArray(value)) return {};
  const mapping: Mapping = {};
  for (const [field, name] of Object.entries(value)) {
    if (typeof name === "string" && name) mapping[field as Field] = name;
  }
  return mapping;
}
