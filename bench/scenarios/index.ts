import type { Scenario } from "../lib/scenario";
import { adminTenantRead } from "./admin-tenant-read";

/** Every scenario `npm run bench` runs, in order. Planned: login storm, /authz, SAML ACS. */
export const scenarios: Scenario[] = [adminTenantRead];
