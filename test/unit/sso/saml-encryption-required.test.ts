// The two guards of a connection that requires encrypted assertions, on their own: no plain Assertion anywhere
// in the Response (before any crypto), and the verified assertion must be one this SP decrypted (after
// node-saml, whatever node-saml would choose between a plain and an encrypted one).
import { refusePlainAssertions, requireDecrypted } from "../../../src/sso/saml/encrypted-assertion";
import { parseSamlXml } from "../../../src/sso/saml/saml-xml";
import { SsoRefused } from "../../../src/sso/sso-errors";

const response = (children: string) =>
  parseSamlXml(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r" Version="2.0">${children}</samlp:Response>`);

function reasonOf(run: () => void): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (error instanceof SsoRefused) return error.reason;
    throw error;
  }
}

describe("refusePlainAssertions", () => {
  it.each([
    ["a plain assertion", `<saml:Assertion ID="_a"/>`],
    ["a plain assertion beside an encrypted one", `<saml:EncryptedAssertion/><saml:Assertion ID="_a"/>`],
    ["a plain assertion before an encrypted one", `<saml:Assertion ID="_a"/><saml:EncryptedAssertion/>`],
    ["an Assertion in another namespace", `<saml:EncryptedAssertion/><x:Assertion xmlns:x="urn:example:other" ID="_a"/>`],
    ["an Assertion nested below another element, beside an encrypted one", `<samlp:Extensions><saml:Assertion ID="_a"/></samlp:Extensions><saml:EncryptedAssertion/>`],
  ])("refuses %s", (_, children) => {
    expect(reasonOf(() => refusePlainAssertions(response(children)))).toBe("assertion_not_encrypted");
  });

  it.each([
    ["an encrypted assertion", `<saml:EncryptedAssertion/>`],
    ["no assertion (an IdP error status: reported as such later)", `<samlp:Status/>`],
  ])("lets %s through", (_, children) => {
    expect(reasonOf(() => refusePlainAssertions(response(children)))).toBeUndefined();
  });
});

describe("requireDecrypted", () => {
  it("accepts the ID of an assertion this SP decrypted", () => {
    expect(reasonOf(() => requireDecrypted("_a", new Set(["_a"])))).toBeUndefined();
  });

  it("refuses any other assertion, and any assertion when nothing was decrypted", () => {
    expect(reasonOf(() => requireDecrypted("_b", new Set(["_a"])))).toBe("assertion_not_encrypted");
    expect(reasonOf(() => requireDecrypted("_a", new Set()))).toBe("assertion_not_encrypted");
  });
});
