import type { Scenario } from "../lib/scenario";
import { adminTenantRead } from "./admin-tenant-read";
import { loginStorm } from "./login-storm";
import { rotationCampaign } from "./rotation-campaign";

/**
 * Every scenario `npm run bench` runs, in order. The rotation campaign stays last: it flags every user
 * of every tenant, those of the scenarios before it included. Planned: /authz, SAML ACS.
 */
export const scenarios: Scenario[] = [adminTenantRead, loginStorm, rotationCampaign];
