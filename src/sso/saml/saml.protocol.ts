import { AppError } from "../../platform/errors";
import type { Session } from "../../sessions/session";
import { createAuditStore } from "../../audit/audit.store";
import { createTenantStore } from "../../tenants/tenant.store";
import { createSsoConnectionStore } from "../connection.store";
import { createExternalIdentityStore } from "../external-identity.store";
import { restartWithoutStepUp, type BeginInput, type SsoProtocol, type SsoProtocolDeps } from "../sso.routes";
import { createSamlAcs } from "./saml-acs";
import { newRequestId, samlClient } from "./saml-client";
import { buildLogoutUrl } from "./saml-logout";
import { spEndpoints } from "./saml-settings";
import { createSamlSlo } from "./saml-slo";
import { samlRouter } from "./saml.routes";
import type { SamlSpKeys } from "./sp-signing-key";
import { spMetadataXml } from "./sp-metadata";

export type SamlProtocol = SsoProtocol & {
  /** The IdP's single-logout URL (signed LogoutRequest) for a SAML session, or null when there is none to call. */
  logoutUrl(session: Session): Promise<string | null>;
};

const notAvailable = () => new AppError("not_found", "Single sign-on is not available for this account.");

/**
 * SAML 2.0 service provider, one per tenant: SP-initiated login over HTTP-Redirect, the ACS over HTTP-POST,
 * SP metadata, and single logout (our LogoutRequest, and the SingleLogoutService for the IdP's messages).
 */
export function createSamlProtocol(deps: SsoProtocolDeps & { spKeys: SamlSpKeys }): SamlProtocol {
  const spKey = deps.spKeys.signing;
  // A key pair of its own for decrypting assertions (sp-signing-key.ts says why not the signing one).
  const spEncryptionKey = deps.spKeys.encryption;
  const tenants = createTenantStore();
  const connections = createSsoConnectionStore();

  /** SP-initiated login: the AuthnRequest's ID and return_to stay in the flow store; RelayState is the flow's opaque id. */
  async function begin(input: BeginInput): Promise<string> {
    const { tenant, connection, returnTo } = input;
    if (!connection.ssoUrl || !connection.idpEntityId) throw notAvailable();
    const requestId = newRequestId();
    const key = await spKey.get();
    const relayState = await deps.flows.begin({
      tenantId: tenant.id, connectionId: connection.id, returnTo, samlRequestId: requestId, createdAt: deps.clock.now().getTime(),
      authnContexts: input.authnContexts,
    });
    const client = samlClient({ endpoints: spEndpoints(deps.publicUrl, tenant.slug), connection, key, requestId, authnContexts: input.authnContexts });
    return client.getAuthorizeUrlAsync(relayState, undefined, {});
  }

  const router = samlRouter({
    consumeAssertion: createSamlAcs({
      ...deps, connections, spDecryptionKeys: async () => (await spEncryptionKey.keySet()).published, restartWithoutStepUp: restartWithoutStepUp(begin, deps),
    }),
    singleLogout: createSamlSlo({ ...deps, connections, spKey: () => spKey.get(), identities: createExternalIdentityStore(), auditStore: createAuditStore() }),
    async spMetadata(slug) {
      // Any existing tenant: its IdP admin needs this before the connection is created here.
      const tenant = /^[a-z0-9-]{1,63}$/.test(slug) ? await tenants.findBySlug(deps.db, slug) : null;
      if (!tenant) throw notAvailable();
      const [signing, encryption, gcmOnly] = await Promise.all([spKey.keySet(), spEncryptionKey.keySet(), connections.samlRequiresGcm(deps.db, tenant.id)]);
      return spMetadataXml(spEndpoints(deps.publicUrl, tenant.slug), signing, encryption, { gcmOnly });
    },
  });

  return {
    router,

    begin,

    async logoutUrl(session) {
      if (session.method !== "saml" || !session.sso) return null;
      const connection = await connections.findInTenant(deps.db, session.tenantId, session.sso.connectionId);
      const tenantSlug = session.tenantSlug ?? (await tenants.findById(deps.db, session.tenantId))?.slug;
      if (!connection || !tenantSlug) return null;
      return buildLogoutUrl({ session, tenantSlug, connection, publicUrl: deps.publicUrl, key: await spKey.get(), kv: deps.kv });
    },
  };
}
