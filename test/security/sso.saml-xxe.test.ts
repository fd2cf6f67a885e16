// XML attacks on the parser rather than the protocol: a DOCTYPE declaring external entities (XXE: read
// local files, reach internal hosts) or nested entities (billion laughs: exhaust memory). Any DOCTYPE is
// refused before the XML reaches a parser.
import type { TestApp } from "../support/harness";
import { tamper } from "../support/saml-idp";
import { expectRefused, failureReasons, footprint, idpAnswer, postToAcs, type SamlTenant, withJitSamlTenant } from "../support/saml-login";

let t: TestApp;
let tenant: SamlTenant;
withJitSamlTenant((app, created) => {
  [t, tenant] = [app, created];
});

async function withDoctype(doctype: string, edit: (xml: string) => string = (xml) => xml): Promise<{ SAMLResponse: string; RelayState?: string }> {
  const form = await idpAnswer(t, tenant, { user: { nameId: "xxe@corp.example" } });
  form.SAMLResponse = tamper(form.SAMLResponse, (xml) => doctype + edit(xml));
  return form;
}

async function refusedAsDoctype(form: { SAMLResponse: string; RelayState?: string }): Promise<void> {
  const before = await footprint(t, tenant);
  const res = await postToAcs(t, tenant.slug, form);
  await expectRefused(t, tenant, res, before);
  expect(res.text).not.toContain("root:");
  expect((await failureReasons(t, tenant.tenantId)).at(-1)).toBe("doctype");
}

describe("DOCTYPE / XXE", () => {
  it("refuses an external entity that would read a local file into the NameID", async () => {
    // The classic XXE: &xxe; expands to /etc/passwd if the parser resolves external entities.
    await refusedAsDoctype(await withDoctype('<!DOCTYPE samlp:Response [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', (xml) => xml.replace(">xxe@corp.example<", ">&xxe;<")));
  });

  it("refuses nested entities (billion laughs)", async () => {
    // Ten levels of ten: a billion copies of "lol" if anything expands them.
    const levels = Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`).join("");
    await refusedAsDoctype(await withDoctype(`<!DOCTYPE lolz [<!ENTITY lol0 "lol">${levels}]>`, (xml) => xml.replace(">xxe@corp.example<", ">&lol9;<")));
  });

  it("refuses an external DTD", async () => {
    // Parameter entities from a remote DTD: out-of-band exfiltration.
    await refusedAsDoctype(await withDoctype('<!DOCTYPE samlp:Response SYSTEM "http://127.0.0.1:9/evil.dtd">'));
  });

  it("refuses a harmless-looking DOCTYPE after the XML declaration", async () => {
    // No entities at all: still no DTD processing, whatever it declares.
    await refusedAsDoctype(await withDoctype('<?xml version="1.0" encoding="UTF-8"?><!doctype samlp:Response>'));
  });
});
