import type { SsoConnectionRow } from "../connection.store";
import { SsoRefused } from "../sso-errors";
import { checkAssertion, type CheckedAssertion, type Expected } from "./assertion-checks";
import { verifiedAssertionXml } from "./node-saml-validation";
import { samlClient } from "./saml-client";
import { parseSamlXml } from "./saml-xml";

/** Everything the signature and assertion checks need, as plain data (it crosses to a worker thread). */
export type ValidationRequest = {
  encoded: string;
  responseSigned: boolean;
  connection: Pick<SsoConnectionRow, "idpEntityId" | "ssoUrl" | "sloUrl" | "certificates">;
  expected: Expected;
};

export type ValidationOutcome = { ok: true; assertion: CheckedAssertion } | { ok: false; reason: string };

/**
 * The CPU-heavy part of the ACS: node-saml's parse and signature checks, then ours on the assertion
 * it verified. A refusal is returned, not thrown, so that it crosses a thread boundary with its reason.
 */
export async function validateResponse(request: ValidationRequest): Promise<ValidationOutcome> {
  try {
    const client = samlClient({ endpoints: request.expected.endpoints, connection: request.connection, responseSigned: request.responseSigned });
    const assertionXml = await verifiedAssertionXml(client, request.encoded);
    return { ok: true, assertion: checkAssertion(parseSamlXml(assertionXml), request.expected) };
  } catch (error) {
    if (error instanceof SsoRefused) return { ok: false, reason: error.reason };
    throw error;
  }
}
