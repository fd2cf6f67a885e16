import type { AuditContext } from "../audit/audit-event";
import type { AuditStore } from "../audit/audit.store";
import { changedFields } from "../audit/diff";
import { Prisma } from "../generated/prisma/client";
import type { Clock } from "../platform/clock";
import type { SecretBox } from "../platform/crypto";
import type { Db, DbTx } from "../platform/db/prisma";
import { AppError, notFound } from "../platform/errors";
import { decodeCursor, toPage, UUID_PATTERN, type Page } from "../platform/pagination";
import type { TenantRow } from "../tenants/tenant.store";
import { pemFromBase64, requireValidCertificates } from "./certificates";
import {
  OIDC_ONLY_FIELDS, SAML_ONLY_FIELDS,
  type ConnectionCreateInput, type ConnectionUpdateInput, type OidcCreateInput, type SamlCreateInput,
} from "./connection.schemas";
import type { SsoConnectionChange, SsoConnectionData, SsoConnectionRow, SsoConnectionStore } from "./connection.store";
import { listExpiringCertificates } from "./certificate-expiry";
import { healthOf, type ConnectionHealth } from "./connection-health";
import { toConnectionView, type ConnectionView } from "./connection.view";
import { parseIdpMetadata } from "./idp-metadata";
import type { DiscoveryOptions } from "./oidc-discovery";
import type { SsoPolicyStore } from "./sso-policy.store";

type Deps = {
  db: Db;
  clock: Clock;
  auditStore: AuditStore;
  connectionStore: SsoConnectionStore;
  policyStore: SsoPolicyStore;
  secretBox: SecretBox;
  /** Checks an OIDC issuer's discovery document; throws `oidc_discovery_failed`. */
  discover: (issuer: string, options: DiscoveryOptions) => Promise<unknown>;
  discovery: DiscoveryOptions;
};

export type ConnectionWithHealth = ConnectionView & { health: ConnectionHealth };

/** The client secret is bound to its connection: a sealed value copied to another row does not open. */
export const clientSecretContext = (connectionId: string) => `sso-connection:${connectionId}:client-secret`;

const jsonOrNull = (value: Record<string, string> | null | undefined) => (value === null ? Prisma.DbNull : value);

export function createSsoConnectionService(deps: Deps) {
  const { db, clock, auditStore, connectionStore, policyStore, secretBox } = deps;
  const view = (row: SsoConnectionRow) => toConnectionView(row, clock.now());
  /** What the API returns: the connection with its login health. */
  async function withHealth(tenantId: string, rows: SsoConnectionRow[]): Promise<ConnectionWithHealth[]> {
    const health = await healthOf(db, tenantId, rows);
    return rows.map((row) => ({ ...view(row), health: health.get(row.id)! }));
  }

  async function requireConnection(tenant: TenantRow, id: string): Promise<SsoConnectionRow> {
    const row = UUID_PATTERN.test(id) ? await connectionStore.findInTenant(db, tenant.id, id) : null;
    if (!row) throw notFound("SSO connection");
    return row;
  }

  /** SAML endpoints and certificates, from metadata or from the fields; certificates checked either way. */
  function samlEndpoints(input: Pick<ConnectionUpdateInput, "metadataXml" | "idpEntityId" | "ssoUrl" | "sloUrl" | "certificates">) {
    if (input.metadataXml !== undefined) {
      const metadata = parseIdpMetadata(input.metadataXml);
      const certificates = requireValidCertificates(metadata.certificates.map(pemFromBase64), clock.now(), "metadataXml.certificates");
      return { idpEntityId: metadata.idpEntityId, ssoUrl: metadata.ssoUrl, sloUrl: metadata.sloUrl, certificates };
    }
    return {
      idpEntityId: input.idpEntityId,
      ssoUrl: input.ssoUrl,
      sloUrl: input.sloUrl,
      certificates: input.certificates && requireValidCertificates(input.certificates, clock.now()),
    };
  }

  function samlData(tenantId: string, input: SamlCreateInput): SsoConnectionData {
    const endpoints = samlEndpoints(input);
    return {
      tenantId, type: "saml", enabled: input.enabled, ...endpoints, sloUrl: endpoints.sloUrl ?? null,
      allowIdpInitiated: input.allowIdpInitiated, requireEncryptedAssertions: input.requireEncryptedAssertions,
      requireGcmEncryption: input.requireGcmEncryption, stepUpContexts: input.stepUpContexts, provisioning: input.provisioning, attributeMapping: input.attributeMapping,
    };
  }

  async function oidcData(tenantId: string, input: OidcCreateInput): Promise<SsoConnectionData> {
    await deps.discover(input.issuer, deps.discovery);
    return {
      tenantId, type: "oidc", enabled: input.enabled, issuer: input.issuer, clientId: input.clientId,
      scopes: input.scopes, stepUpContexts: input.stepUpContexts, provisioning: input.provisioning, attributeMapping: input.claimMapping,
    };
  }

  /** Disabling or deleting the last enabled connection of an SSO-enabled tenant would leave SSO pointing nowhere. */
  async function refuseLosingLastConnection(tx: DbTx, tenant: TenantRow, row: SsoConnectionRow): Promise<void> {
    const policy = await policyStore.lockTenant(tx, tenant.id);
    if (!policy?.enabled || !row.enabled) return;
    if ((await connectionStore.countEnabled(tx, tenant.id, row.id)) === 0) {
      throw new AppError("sso_connection_required", "This is the tenant's last enabled SSO connection and SSO is enabled; switch SSO off first (PUT .../sso)");
    }
  }

  async function updateChange(row: SsoConnectionRow, input: ConnectionUpdateInput): Promise<SsoConnectionChange> {
    const foreign = (row.type === "saml" ? OIDC_ONLY_FIELDS : SAML_ONLY_FIELDS).filter((key) => input[key] !== undefined);
    if (input.type !== undefined && input.type !== row.type) foreign.unshift("type" as never);
    if (foreign.length > 0) {
      const errors = foreign.map((path) => ({ path, message: `not a field of a ${row.type} connection` }));
      throw new AppError("validation_failed", errors.map((e) => `${e.path}: ${e.message}`).join("; "), { errors });
    }
    const common = { enabled: input.enabled, provisioning: input.provisioning, stepUpContexts: input.stepUpContexts };
    if (row.type === "saml") {
      return {
        ...common, ...samlEndpoints(input), allowIdpInitiated: input.allowIdpInitiated,
        requireEncryptedAssertions: input.requireEncryptedAssertions, requireGcmEncryption: input.requireGcmEncryption,
        attributeMapping: jsonOrNull(input.attributeMapping),
      };
    }
    if (input.issuer !== undefined && input.issuer !== row.issuer) await deps.discover(input.issuer, deps.discovery);
    return {
      ...common, issuer: input.issuer, clientId: input.clientId, scopes: input.scopes, attributeMapping: jsonOrNull(input.claimMapping),
      ...(input.clientSecret !== undefined ? { clientSecretSealed: secretBox.seal(input.clientSecret, clientSecretContext(row.id)) } : {}),
    };
  }

  return {
    requireConnection,

    async createConnection(tenant: TenantRow, input: ConnectionCreateInput, context: AuditContext): Promise<ConnectionWithHealth> {
      const data = input.type === "saml" ? samlData(tenant.id, input) : await oidcData(tenant.id, input);
      const row = await db.$transaction(async (tx) => {
        let created = await connectionStore.create(tx, data);
        if (input.type === "oidc") {
          created = await connectionStore.update(tx, created.id, { clientSecretSealed: secretBox.seal(input.clientSecret, clientSecretContext(created.id)) });
        }
        await auditStore.insert(tx, context, { type: "sso.connection.created", tenantId: tenant.id, target: { type: "sso_connection", id: created.id }, data: { after: view(created) } });
        return created;
      });
      return (await withHealth(tenant.id, [row]))[0]!;
    },

    async updateConnection(tenant: TenantRow, id: string, input: ConnectionUpdateInput, context: AuditContext): Promise<ConnectionWithHealth> {
      const row = await requireConnection(tenant, id);
      const change = await updateChange(row, input);
      const updated = await db.$transaction(async (tx) => {
        if (input.enabled === false) await refuseLosingLastConnection(tx, tenant, row);
        const next = await connectionStore.update(tx, row.id, change);
        const diff = changedFields(view(row), view(next));
        const secretChanged = input.clientSecret !== undefined;
        if (diff || secretChanged) {
          await auditStore.insert(tx, context, {
            type: "sso.connection.updated", tenantId: tenant.id, target: { type: "sso_connection", id: row.id },
            data: { ...(diff ?? { before: {}, after: {} }), ...(secretChanged ? { clientSecretChanged: true } : {}) },
          });
        }
        return next;
      });
      return (await withHealth(tenant.id, [updated]))[0]!;
    },

    async deleteConnection(tenant: TenantRow, id: string, context: AuditContext): Promise<void> {
      const row = await requireConnection(tenant, id);
      await db.$transaction(async (tx) => {
        await refuseLosingLastConnection(tx, tenant, row);
        await connectionStore.delete(tx, row.id);
        await auditStore.insert(tx, context, { type: "sso.connection.updated", tenantId: tenant.id, target: { type: "sso_connection", id: row.id }, data: { deleted: true, before: view(row) } });
      });
    },

    async getConnection(tenant: TenantRow, id: string): Promise<ConnectionWithHealth> {
      return (await withHealth(tenant.id, [await requireConnection(tenant, id)]))[0]!;
    },

    listExpiringCertificates(query: { withinDays: number; cursor?: string; limit: number; onlyTenantId?: string }) {
      return listExpiringCertificates(db, query, clock.now());
    },

    async listConnections(tenant: TenantRow, query: { cursor?: string; limit: number }): Promise<Page<ConnectionWithHealth>> {
      const rows = await connectionStore.list(db, { tenantId: tenant.id, afterId: decodeCursor(query.cursor, UUID_PATTERN), limit: query.limit + 1 });
      const page = toPage(rows, query.limit, (row) => row, (row) => row.id);
      return { items: await withHealth(tenant.id, page.items), nextCursor: page.nextCursor };
    },
  };
}

export type SsoConnectionService = ReturnType<typeof createSsoConnectionService>;
