import { SamlStatusError, type SAML } from "@node-saml/node-saml";
import { STEP_UP_UNAVAILABLE, SsoRefused } from "../sso-errors";

// node-saml reports every refusal as a plain Error; its messages (5.1.0) are the only way to tell them
// apart. Anything not listed is "malformed": still refused, just recorded less precisely.
const REASONS: Array<[RegExp, string]> = [
  [/signature/i, "signature_invalid"],
  [/not yet valid/i, "not_yet_valid"],
  [/too old/i, "too_old"],
  [/expired/i, "expired"],
  [/audience/i, "audience_mismatch"],
  // encrypted-assertion.ts has already decrypted the same bytes: these are not expected, and stay uniform.
  [/decrypt|EncryptedAssertion/i, "decryption_failed"],
];

/**
 * Runs node-saml's checks over the posted response and returns the assertion as node-saml verified it:
 * the signed bytes, canonicalised, never the unsigned document around them.
 */
export async function verifiedAssertionXml(client: SAML, encodedResponse: string): Promise<string> {
  let assertionXml: string | undefined;
  try {
    const { profile } = await client.validatePostResponseAsync({ SAMLResponse: encodedResponse });
    assertionXml = profile?.getAssertionXml?.();
  } catch (error) {
    throw refusalOf(error);
  }
  // A NoPassive answer or a LogoutResponse: nothing to sign in with.
  if (!assertionXml) throw new SsoRefused("no_assertion");
  return assertionXml;
}

function refusalOf(error: unknown): SsoRefused {
  if (error instanceof SamlStatusError) {
    // Responder / NoAuthnContext (SAML core 3.2.2.2): the IdP cannot give the RequestedAuthnContext asked for.
    const noContext = String(error.xmlStatus).includes("urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext");
    return new SsoRefused(noContext ? STEP_UP_UNAVAILABLE : "idp_status", { cause: error });
  }
  const message = error instanceof Error ? error.message : "";
  const reason = REASONS.find(([pattern]) => pattern.test(message))?.[1] ?? "malformed";
  return new SsoRefused(reason, { cause: error });
}
