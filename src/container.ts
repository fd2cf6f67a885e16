import { createApiKeyService } from "./admin/api-key.service";
import { createApiKeyStore } from "./admin/api-key.store";
import { createAuditService } from "./audit/audit.service";
import { createAuditStore } from "./audit/audit.store";
import { createProductApps } from "./apps/product-apps";
import type { LocalLoginDeps } from "./local-login/deps";
import { createLoginEntryService } from "./local-login/login-entry.service";
import { createPendingLoginStore } from "./local-login/pending-login.store";
import { createMfaAdminService } from "./mfa/mfa-admin.service";
import { createRecoveryCodeHasher } from "./mfa/recovery-code-hasher";
import { createRecoveryCodeNotices } from "./mfa/recovery-code-notice";
import { createRecoveryCodeStore } from "./mfa/recovery-code.store";
import { createTotpVerifier } from "./mfa/totp";
import { createBreachChecker } from "./passwords/breach-check";
import { loadCommonPasswords } from "./passwords/common-passwords";
import type { PasswordDeps, PasswordPolicy } from "./passwords/deps";
import { createPasswordChangeService } from "./passwords/password-change.service";
import { createBcryptWorkerPool, libuvBcrypt } from "./passwords/bcrypt-pool";
import { createPasswordHasher } from "./passwords/password-hasher";
import { createPasswordPolicy } from "./passwords/password-policy";
import { createPasswordResetService } from "./passwords/password-reset.service";
import { createPasswordTokenStore } from "./passwords/password-token.store";
import { createRotationCampaignService } from "./passwords/rotation-campaign.service";
import { createRotationCampaignStore } from "./passwords/rotation-campaign.store";
import { createRotationWorker } from "./passwords/rotation-campaign.worker";
import { createRotationService } from "./passwords/rotation.service";
import { AppError } from "./platform/errors";
import { createOutboxSender } from "./platform/mail/outbox-sender";
import { createOutboxStore } from "./platform/mail/outbox.store";
import type { OpenedInfrastructure } from "./platform/infrastructure";
import { SecretBox } from "./platform/crypto";
import { createSigningKeyStore } from "./sso/saml/signing-key.store";
import { createSamlSpKeys } from "./sso/saml/sp-signing-key";
import { createAuthThrottle } from "./platform/throttle/throttle";
import { createAccountService } from "./sessions/account.service";
import { createRecoveryCodeRegeneration } from "./mfa/recovery-code-regeneration";
import { createAuthenticatorReplacement } from "./mfa/authenticator-replacement";
import { createSessionAdminService } from "./sessions/session-admin.service";
import { createSessionService } from "./sessions/session.service";
import { createSessionStore } from "./sessions/session.store";
import { createSsoConnectionService } from "./sso/connection.service";
import { createSsoConnectionStore } from "./sso/connection.store";
import { createSamlValidator } from "./sso/saml/saml-validator";
import { createCertificateAlertWorker } from "./sso/certificate-alert.worker";
import { createExternalIdentityStore } from "./sso/external-identity.store";
import { discoverIssuer } from "./sso/oidc-discovery";
import { createSsoFlowStore } from "./sso/sso-flow.store";
import { createSsoLoginService } from "./sso/sso-login.service";
import { createSsoPolicyService } from "./sso/sso-policy.service";
import { createSsoPolicyStore } from "./sso/sso-policy.store";
import { createAllowlistImpact } from "./tenants/allowlist-impact";
import { createTenantService } from "./tenants/tenant.service";
import { createTenantStore } from "./tenants/tenant.store";
import { createUserService } from "./users/user.service";
import { createUserStore } from "./users/user.store";

export type Infrastructure = Omit<OpenedInfrastructure, "close">;

/** The one wiring point: stores, then services that take them as deps. */
export function createContainer(infra: Infrastructure) {
  const { db, clock, logger, kv, config, mailer } = infra;
  const auditStore = createAuditStore();
  const tenantStore = createTenantStore();
  const userStore = createUserStore();
  const apiKeyStore = createApiKeyStore();
  const ssoConnectionStore = createSsoConnectionStore();
  const ssoPolicyStore = createSsoPolicyStore();
  const recoveryCodeStore = createRecoveryCodeStore();
  const countRecoveryCodes = (userId: string) => recoveryCodeStore.countUnused(db, userId);
  const recoveryNotices = createRecoveryCodeNotices({ kv });
  const sessions = createSessionService({ store: createSessionStore({ kv, clock }), clock });
  const bcrypt = config.bcryptThreads > 0 ? createBcryptWorkerPool({ size: config.bcryptThreads, nice: config.bcryptThreadNice }) : libuvBcrypt;
  const hasher = createPasswordHasher({ cost: config.bcryptCost, pepperKeys: config.secretKeys, backend: bcrypt });

  const throttle = createAuthThrottle({ backend: infra.throttleBackend });
  const outbox = createOutboxStore();
  const policy = createPasswordPolicy({
    minLength: config.passwordMinLength,
    commonPasswords: loadCommonPasswords(),
    hasher,
    breachCheck: config.breachCheck ? createBreachChecker({ rangeUrl: config.breachCheck.url, timeoutMs: config.breachCheck.timeoutMs, onUnavailable: config.breachCheck.onUnavailable }) : undefined,
  });
  const passwordDeps: PasswordDeps = {
    db, clock, logger, regionUrls: config.regionUrls, tenantStore, userStore, tokenStore: createPasswordTokenStore(), outbox, auditStore, hasher, policy, sessions, throttle,
  };
  // Product apps: applications registry, OpenID provider (/oidc), its keys, logout propagation. Built before
  // the logins, which ask it whether the app a login returns to wants a second factor (step-up).
  const productApps = createProductApps({ db, kv, clock, logger, publicUrl: config.publicUrl, secureCookies: config.secureCookies, secretKeys: config.secretKeys, sessions, auditStore });
  const pendingLogins = createPendingLoginStore({ kv });
  const samlValidator = createSamlValidator({ threads: config.samlValidationThreads });
  const ssoLogin = createSsoLoginService({
    db, kv, clock, logger, tenantStore, userStore, auditStore, sessions, pending: pendingLogins, connectionStore: ssoConnectionStore, identities: createExternalIdentityStore(),
    secondFactorRequiredFor: productApps.secondFactorRequiredFor,
  });
  const campaigns = createRotationCampaignStore();
  const rotationWorker = createRotationWorker({ ...passwordDeps, campaigns });
  const passwordReset = createPasswordResetService(passwordDeps);

  const localLogin: LocalLoginDeps = {
    db, kv, clock, logger, outbox, auditStore, tenantStore, userStore, recoveryCodeStore, recoveryNotices, sessions, hasher,
    regionUrls: config.regionUrls,
    publicUrl: config.publicUrl,
    throttle,
    pending: pendingLogins,
    totp: createTotpVerifier({ kv, clock }),
    secretBox: new SecretBox(config.secretKeys),
    recoveryHasher: createRecoveryCodeHasher(config.secretKeys),
    secondFactorRequiredFor: productApps.secondFactorRequiredFor,
  };

  return {
    infra,
    /** Stops what the container itself started (worker threads); infrastructure closes separately. */
    close: async () => {
      await Promise.all([bcrypt.close(), samlValidator.close()]);
    },
    samlValidator,
    throttle,
    sessions,
    recoveryNotices,
    localLogin,
    audit: createAuditService({ db, auditStore }),
    tenants: createTenantService({ db, tenantStore, auditStore }),
    users: createUserService({
      db, clock, userStore, auditStore, hasher,
      revokeUserSessions: (userId) => sessions.revokeUserSessions(userId),
      countRecoveryCodes,
      checkPassword: (password, user, tenant) => checkAdminPassword(policy, password, user, tenant),
      invite: (tx, user, tenant) => passwordReset.inviteInTransaction(tx, user, tenant),
    }),
    apiKeys: createApiKeyService({ db, clock, logger, apiKeyStore, tenantStore, auditStore }),
    account: createAccountService({ db, sessions, userStore, tenantStore, auditStore, countRecoveryCodes }),
    authenticatorReplacement: createAuthenticatorReplacement({
      db, kv, clock, userStore, tenantStore, recoveryCodeStore, auditStore, outbox, throttle, sessions,
      recoveryHasher: localLogin.recoveryHasher, secretBox: localLogin.secretBox, totp: localLogin.totp,
    }),
    recoveryCodes: createRecoveryCodeRegeneration({
      db, kv, clock, userStore, tenantStore, recoveryCodeStore, auditStore, outbox, throttle, sessions,
      recoveryHasher: localLogin.recoveryHasher, secretBox: localLogin.secretBox, totp: localLogin.totp,
    }),
    loginEntry: createLoginEntryService({ db, tenantStore, regions: config.regions, regionUrls: config.regionUrls, publicUrl: config.publicUrl }),
    mfaAdmin: createMfaAdminService({ db, userStore, recoveryCodeStore, auditStore, sessions, outbox, clock }),
    sessionAdmin: createSessionAdminService({ db, auditStore, sessions }),
    allowlistImpact: createAllowlistImpact({ db, clock, userStore, auditStore, sessions }),
    passwordReset,
    passwordChange: createPasswordChangeService(passwordDeps),
    rotation: createRotationService(passwordDeps),
    rotationCampaigns: createRotationCampaignService({ ...passwordDeps, campaigns, wakeWorker: () => rotationWorker.wake() }),
    rotationWorker,
    ssoConnections: createSsoConnectionService({
      db, clock, auditStore, connectionStore: ssoConnectionStore, policyStore: ssoPolicyStore, secretBox: new SecretBox(config.secretKeys),
      discover: discoverIssuer,
      // Plain-http issuers only outside production (a local test IdP).
      discovery: { timeoutMs: 5000, allowHttp: config.env !== "production" },
    }),
    ssoLogin,
    ssoFlows: createSsoFlowStore({ kv }),
    ssoPolicy: createSsoPolicyService({ db, auditStore, connectionStore: ssoConnectionStore, policyStore: ssoPolicyStore }),
    certificateAlerts: createCertificateAlertWorker({ db, clock, logger, auditStore, userStore, outbox }),
    samlSpKeys: createSamlSpKeys({ db, clock, logger, auditStore, secretBox: new SecretBox(config.secretKeys), store: createSigningKeyStore() }),
    outboxSender: createOutboxSender({ db, store: outbox, mailer, clock, logger }),
    ...productApps,
  };
}

/** Admin-set passwords meet the same policy as users' own; a refusal names each reason. */
async function checkAdminPassword(policy: PasswordPolicy, password: string, user: { email: string }, tenant: { name: string; slug: string }): Promise<string> {
  const verdict = await policy.check(password, { email: user.email, tenantName: tenant.name, tenantSlug: tenant.slug });
  if (verdict.ok) return verdict.normalised;
  const errors = verdict.reasons.map((reason) => ({ path: "password", message: reason.message }));
  throw new AppError("validation_failed", errors.map((e) => `password: ${e.message}`).join("; "), { errors });
}

export type Container = ReturnType<typeof createContainer>;
