import express, { Router } from "express";
import { requireJsonBody } from "../platform/http/errors.middleware";
import { rememberMountPath } from "../platform/http/metrics";
import type { AuditService } from "../audit/audit.service";
import type { MfaAdminService } from "../mfa/mfa-admin.service";
import type { RotationCampaignService } from "../passwords/rotation-campaign.service";
import type { RotationService } from "../passwords/rotation.service";
import type { SessionAdminService } from "../sessions/session-admin.service";
import type { SsoConnectionService } from "../sso/connection.service";
import type { SamlSpKeys } from "../sso/saml/sp-signing-key";
import type { SsoPolicyService } from "../sso/sso-policy.service";
import type { AllowlistImpact } from "../tenants/allowlist-impact";
import type { ApplicationService } from "../apps/application.service";
import type { TenantService } from "../tenants/tenant.service";
import type { UserService } from "../users/user.service";
import { apiKeyAuth } from "./api-key.middleware";
import type { ApiKeyService } from "./api-key.service";
import { apiKeysRouter } from "./api-keys.routes";
import { applicationsRouter, type OidcSigningKeys } from "./applications.routes";
import { auditRouter } from "./audit.routes";
import { rotationsRouter } from "./rotations.routes";
import { samlKeysRouter } from "./saml-keys.routes";
import { ssoRouter } from "./sso.routes";
import { tenantsRouter } from "./tenants.routes";
import { userSessionsRouter } from "./user-sessions.routes";
import { usersRouter } from "./users.routes";

export type AdminDeps = {
  apiKeys: ApiKeyService;
  tenants: TenantService;
  users: UserService;
  audit: AuditService;
  mfaAdmin: MfaAdminService;
  sessionAdmin: SessionAdminService;
  allowlistImpact: AllowlistImpact;
  rotation: RotationService;
  rotationCampaigns: RotationCampaignService;
  ssoConnections: SsoConnectionService;
  ssoPolicy: SsoPolicyService;
  applications: ApplicationService;
  oidcSigningKeys: OidcSigningKeys;
  samlSpKeys: SamlSpKeys;
  regions: readonly string[];
  jsonBodyLimitBytes: number;
};

/** /api/v1: JSON in, JSON out, every route behind an API key. */
export function adminRouter(deps: AdminDeps): Router {
  const router = Router();
  // Authenticate before reading any body: anonymous callers get 401 and cost no JSON parsing.
  router.use(rememberMountPath, apiKeyAuth(deps.apiKeys));
  router.use(requireJsonBody, express.json({ limit: deps.jsonBodyLimitBytes, strict: true }));
  router.use(tenantsRouter(deps));
  router.use(usersRouter(deps));
  router.use(userSessionsRouter(deps));
  router.use(auditRouter(deps));
  router.use(apiKeysRouter(deps));
  router.use(rotationsRouter(deps));
  router.use(ssoRouter(deps));
  router.use(applicationsRouter(deps));
  router.use(samlKeysRouter(deps));
  return router;
}
