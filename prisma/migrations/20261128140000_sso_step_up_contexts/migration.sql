-- Step-up through the IdP: the authentication contexts a connection asks its IdP for when an app wants a
-- second factor (SAML RequestedAuthnContext class references, OIDC acr_values), and that count as a second
-- factor when the IdP answers with one of them. Empty: nothing is asked, and only the built-in MFA contexts count.
ALTER TABLE "sso_connections" ADD COLUMN "step_up_contexts" TEXT[] NOT NULL DEFAULT '{}';
