// Group names taken from what an IdP asserted: cleaned before they reach sessions, ID tokens and proxies.
import type { IDToken } from "openid-client";
import { groupsOf } from "../../../src/sso/link-identity";
import { claimMappingOf, externalClaimsOf } from "../../../src/sso/oidc/oidc-claims";

it("keeps distinct trimmed strings of at most 256 characters, at most 100 of them", () => {
  expect(groupsOf([" admins ", "admins", "", 42, null, "x".repeat(257), "ops"])).toEqual(["admins", "ops"]);
  expect(groupsOf("solo")).toEqual(["solo"]);
  expect(groupsOf(undefined)).toBeUndefined();
  expect(groupsOf([])).toBeUndefined();
  expect(groupsOf(Array.from({ length: 150 }, (_, i) => `g${i}`))).toHaveLength(100);
});

it("reads an OIDC IdP's groups from the mapped claim (default `groups`), in the ID token or userinfo", () => {
  const idToken = { sub: "u1", email: "a@example.com", email_verified: true, groups: ["eng"], roles: ["admin"] } as unknown as IDToken;
  expect(externalClaimsOf(idToken, undefined, claimMappingOf({ attributeMapping: null })).groups).toEqual(["eng"]);
  expect(externalClaimsOf(idToken, undefined, claimMappingOf({ attributeMapping: { groups: "roles" } })).groups).toEqual(["admin"]);
  const bare = { sub: "u2" } as unknown as IDToken;
  expect(externalClaimsOf(bare, { sub: "u2", groups: ["from-userinfo"] }, claimMappingOf({ attributeMapping: null })).groups).toEqual(["from-userinfo"]);
});
