import { startTestApp, type TestApp } from "./harness";
import { GATEHOUSE_URL } from "./oidc-login";
import { startTestOp, type OpLogin, type TestOp } from "./oidc-op";

export type OidcSso = { t: TestApp; op: TestOp };

/**
 * For the OIDC SSO suites: registers hooks that start a test OP and a Gatehouse at GATEHOUSE_URL (the redirect
 * URIs oidcTenant registers at the OP derive from it), hand both to `use`, and close them after the suite.
 */
export function withOidcSso(use: (started: OidcSso) => void): void {
  let started: Partial<OidcSso> = {};
  beforeAll(async () => {
    started.op = await startTestOp();
    started.t = await startTestApp({ PUBLIC_URL: GATEHOUSE_URL });
    use(started as OidcSso);
  });
  afterAll(async () => {
    await started.t?.close();
    await started.op?.close();
    started = {};
  });
}

/** The OP signs `sub` in, with a verified address at oidc.example. */
export const verifiedLogin = (sub: string): OpLogin => ({ account: { sub, email: `${sub}@oidc.example`, email_verified: true } });
