// Denial of service through the ACS: a huge POST body would cost memory and XML parsing before any
// signature is checked. Bodies over 1 MB are refused with 413 before they are parsed.
import type { TestApp } from "../support/harness";
import { expectRefused, footprint, postToAcs, type SamlTenant, withJitSamlTenant } from "../support/saml-login";

let t: TestApp;
let tenant: SamlTenant;
withJitSamlTenant((app, created) => {
  [t, tenant] = [app, created];
});

describe("oversized body", () => {
  it("answers 413 to an ACS body over 1 MB", async () => {
    // 1.5 MB of base64 padding around a would-be response.
    const before = await footprint(t, tenant);
    const res = await postToAcs(t, tenant.slug, { SAMLResponse: "A".repeat(1_500_000) });
    expect(res.status).toBe(413);
    await expectRefused(t, tenant, res, before);
  });

  it("still reads a body just under the limit (and refuses it for what it is)", async () => {
    // Not an attack: the limit is a size, not a ban on large responses.
    const before = await footprint(t, tenant);
    const res = await postToAcs(t, tenant.slug, { SAMLResponse: "A".repeat(1_000_000) });
    expect(res.status).toBe(400);
    await expectRefused(t, tenant, res, before);
  });
});
