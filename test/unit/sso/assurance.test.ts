import { assuranceOf } from "../../../src/sso/sso-login.service";

const login = (amr: string[], authnContext?: string) => ({ amr, sso: { authnContext } }) as Parameters<typeof assuranceOf>[0];

describe("the assurance of an SSO login", () => {
  it.each([
    "https://refeds.org/profile/mfa",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken",
    "http://schemas.openid.net/pape/policies/2007/06/multi-factor",
    "http://schemas.microsoft.com/claims/multipleauthn",
    "urn:example:idp:multifactor",
  ])("is aal2 for the context %s", (context) => {
    expect(assuranceOf(login(["pwd"], context))).toBe("aal2");
  });

  it.each([
    "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified",
    "https://refeds.org/profile/sfa",
    "http://schemas.microsoft.com/claims/multipleauthn-not",
  ])("is aal1 for the context %s", (context) => {
    expect(assuranceOf(login(["pwd"], context))).toBe("aal1");
  });

  it("is aal2 when amr says mfa, and aal1 for one factor or none", () => {
    expect(assuranceOf(login(["pwd", "mfa"]))).toBe("aal2");
    expect(assuranceOf(login(["pwd", "otp"]))).toBe("aal1");
    expect(assuranceOf(login([]))).toBe("aal1");
  });

  it("is aal2 for a context the connection names for step-up, matched exactly", () => {
    const named = ["urn:acme:idp:loa:strong"];
    expect(assuranceOf(login(["pwd"], "urn:acme:idp:loa:strong"), named)).toBe("aal2");
    expect(assuranceOf(login(["pwd"], "urn:acme:idp:loa:strong"))).toBe("aal1");
    expect(assuranceOf(login(["pwd"], "urn:acme:idp:loa:strong-ish"), named)).toBe("aal1");
    expect(assuranceOf(login(["pwd"], "URN:ACME:IDP:LOA:STRONG"), named)).toBe("aal1");
    expect(assuranceOf(login(["pwd"]), named)).toBe("aal1");
  });
});
