import type { Scenario } from "../lib/scenario";
import { adminTenantRead } from "./admin-tenant-read";
import { authz } from "./authz";
import { loginStorm } from "./login-storm";
import { memory } from "./memory";
import { oidcToken } from "./oidc-token";
import { rotationCampaign } from "./rotation-campaign";
import { samlAcs } from "./saml-acs";
import { twoInstances } from "./scale-out";

/**
 * Every scenario `npm run bench` runs, in order. The rotation campaign stays last: it flags every user
 * of every tenant, those of the scenarios before it included.
 */
export const scenarios: Scenario[] = [adminTenantRead, authz, loginStorm, samlAcs, oidcToken, memory, twoInstances, rotationCampaign];
