// Attack: a forged or misdirected ID token comes back from the token endpoint (a compromised or
// malicious IdP proxy, a token minted for another client, a replayed old token) to sign in as someone else.
// The test OP is real oidc-provider; only its token response is rewritten. Every refusal must be a 4xx
// page: no redirect, no session cookie, no user created (JIT tenants), the reason audited.
import type { TestApp } from "../support/harness";
import { startTestOp, type IdTokenForgery, type TestOp } from "../support/oidc-op";
import { oidcLogin, oidcTenant, outcomeOf, refused } from "../support/oidc-login";
import { verifiedLogin, withOidcSso } from "../support/oidc-sso-setup";

let t: TestApp;
let op: TestOp;
withOidcSso((started) => void ({ t, op } = started));

const login = verifiedLogin("mallory");

async function loginWithForgedIdToken(forgery: IdTokenForgery | ((clientId: string) => IdTokenForgery), idp = op) {
  const tenant = await oidcTenant(t, idp, { provisioning: "jit" });
  idp.forgeNextIdToken(typeof forgery === "function" ? forgery(tenant.clientId) : forgery);
  const { res } = await oidcLogin(t, idp, tenant.slug, login);
  return outcomeOf(t, tenant, res);
}

describe("the ID token", () => {
  it("is accepted as the OP issued it (control: the forging hook itself does not break logins)", async () => {
    const outcome = await loginWithForgedIdToken({ claims: {} });
    expect(outcome).toMatchObject({ status: 303, session: true, users: 1, reasons: [] });
  });

  it("must carry the nonce of this login", async () => {
    // Attack: an ID token captured from another login (other nonce) is replayed into this one.
    expect(await loginWithForgedIdToken({ claims: { nonce: "nonce-of-another-login" } })).toEqual(refused(400, "nonce_mismatch"));
  });

  it("must be issued to this client", async () => {
    // Attack: a token the same IdP issued to another application (another audience) is used to sign in here.
    expect(await loginWithForgedIdToken({ claims: { aud: "some-other-client" } })).toEqual(refused(400, "aud_mismatch"));
  });

  it("must not also be meant for an untrusted audience without naming us as azp", async () => {
    // Attack: a token for several audiences, obtained by another client, is passed on to this one.
    expect(await loginWithForgedIdToken((clientId) => ({ claims: { aud: [clientId, "some-other-client"] } }))).toEqual(refused(400, "aud_mismatch"));
  });

  it("must not name another client as its authorized party", async () => {
    // Attack: a token whose azp is another client of the IdP (it was requested by that client) is replayed here.
    expect(await loginWithForgedIdToken({ claims: { azp: "some-other-client" } })).toEqual(refused(400, "aud_mismatch"));
  });

  it("must come from the connection's issuer", async () => {
    // Attack: a token minted by another IdP (mix-up at the token level).
    expect(await loginWithForgedIdToken({ claims: { iss: "https://evil.example" } })).toEqual(refused(400, "id_token_iss_mismatch"));
  });

  it("must not be expired", async () => {
    // Attack: an old ID token is replayed.
    const past = Math.floor(Date.now() / 1000) - 3600;
    expect(await loginWithForgedIdToken({ claims: { iat: past - 300, exp: past } })).toEqual(refused(400, "id_token_expired"));
  });

  it("must be signed: alg none is refused", async () => {
    // Attack: an unsigned token (alg none) with whatever claims the attacker likes.
    expect(await loginWithForgedIdToken({ claims: { sub: "victim" }, signature: "none" })).toEqual(refused(400, "id_token_invalid"));
  });

  it("must carry a signature that verifies: claims changed after signing are refused", async () => {
    // Attack: the response is altered in transit or by a proxy (sub swapped for the victim's); openid-client alone would accept it in the code flow.
    expect(await loginWithForgedIdToken({ claims: { sub: "victim" }, signature: "original" })).toEqual(refused(400, "id_token_invalid"));
  });

  it("must be signed by the issuer's key, not by a key that merely claims its kid", async () => {
    // Attack: a token signed with the attacker's own key under the OP's key id.
    expect(await loginWithForgedIdToken({ claims: { sub: "victim" }, signature: "foreign-key" })).toEqual(refused(400, "id_token_invalid"));
  });

  it("must be signed even when the IdP's metadata lists alg none", async () => {
    // Attack: a misconfigured or hostile discovery document advertises "none", so the algorithm check alone would let an unsigned token through.
    const lax = await startTestOp();
    try {
      lax.advertise({ id_token_signing_alg_values_supported: ["RS256", "none"] });
      expect(await loginWithForgedIdToken({ claims: { sub: "victim" }, signature: "none" }, lax)).toEqual(refused(400, "id_token_invalid"));
    } finally {
      await lax.close();
    }
  });
});
