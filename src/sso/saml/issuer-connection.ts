import type { Db } from "../../platform/db/prisma";
import type { SsoConnectionRow, SsoConnectionStore } from "../connection.store";
import { SsoRefused } from "../sso-errors";

export type IssuerConnectionDeps = { db: Db; connections: Pick<SsoConnectionStore, "findEnabledSamlByIdp"> };

// As long as a connection's idpEntityId may be (connection.schemas): anything longer names none of them.
const MAX_ENTITY_ID = 1024;

/**
 * The connection a message names through its Issuer, among the tenant's enabled SAML connections; the
 * tenant's first connection is already loaded and usually the one. The Issuer is read before anything is
 * verified, so this is only a choice of whose certificates and entity ID to check the message against:
 * the checks after it require the signed Issuer to be that connection's. None: refused as an issuer
 * mismatch, as when the tenant had a single connection.
 */
export async function connectionOfIssuer(deps: IssuerConnectionDeps, first: SsoConnectionRow, issuer: string | undefined): Promise<SsoConnectionRow> {
  if (!issuer || issuer.length > MAX_ENTITY_ID) throw new SsoRefused("issuer_mismatch");
  if (first.idpEntityId === issuer) return first;
  const found = await deps.connections.findEnabledSamlByIdp(deps.db, first.tenantId, issuer);
  if (!found) throw new SsoRefused("issuer_mismatch");
  return found;
}
