// Attack: plant a session token (made up, the attacker's own, or a half-finished login's) in the victim's browser before they sign in, then ride the signed-in session.
import { sha256Hex } from "../../src/platform/crypto";
import { startTestApp, type TestApp } from "../support/harness";
import { CookieBrowser, createTenant, createUser, PASSWORD, passwordStep, signInSkippingMfa } from "../support/login-helpers";

let t: TestApp;
let slug: string;
const victim = () => ({ tenant: slug, email: "victim@fixation.example", password: PASSWORD });
const attacker = () => ({ tenant: slug, email: "attacker@fixation.example", password: PASSWORD });
// The shape of a real token (43 base64url characters), so it is not refused for its format alone.
const PLANTED = "attacker-chosen-token_".padEnd(43, "x");

beforeAll(async () => {
  t = await startTestApp();
  slug = await createTenant(t, { mfaRequired: false });
  await createUser(t, slug, { email: "victim@fixation.example" });
  await createUser(t, slug, { email: "attacker@fixation.example" });
});
afterAll(async () => {
  await t.close();
});

/** A browser that carries only the given cookies. */
function browserWith(cookies: Record<string, string>): CookieBrowser {
  const browser = new CookieBrowser(t.app);
  for (const [name, value] of Object.entries(cookies)) browser.cookies.set(name, value);
  return browser;
}

async function signedInEmail(browser: CookieBrowser): Promise<string | null> {
  const res = await browser.get("/account");
  if (res.status !== 200) return null;
  return /id="account-email">([^<]*)</.exec(res.text)?.[1] ?? null;
}

describe("session fixation at the regional login", () => {
  it("replaces a made-up session token planted before sign-in, and that token never becomes valid", async () => {
    expect(PLANTED).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const browser = browserWith({ gh_session: PLANTED });
    const done = await signInSkippingMfa(browser, victim());
    expect(done.headers.location).toBe("/account");
    const issued = browser.cookies.get("gh_session");
    expect(issued).toEqual(expect.any(String));
    expect(issued).not.toBe(PLANTED);
    expect(await signedInEmail(browser)).toBe("victim@fixation.example");

    expect(await signedInEmail(browserWith({ gh_session: PLANTED }))).toBeNull();
    expect(await t.container.infra.kv.get(`session:${sha256Hex(PLANTED)}`)).toBeNull();
  });

  it("keeps the attacker's own planted session the attacker's: the victim's sign-in gets a new one", async () => {
    const theirs = new CookieBrowser(t.app);
    await signInSkippingMfa(theirs, attacker());
    const attackerToken = theirs.cookies.get("gh_session")!;

    const victimBrowser = browserWith({ gh_session: attackerToken });
    await signInSkippingMfa(victimBrowser, victim());
    const victimToken = victimBrowser.cookies.get("gh_session")!;
    expect(victimToken).not.toBe(attackerToken);

    expect(await signedInEmail(browserWith({ gh_session: attackerToken }))).toBe("attacker@fixation.example");
    expect(await signedInEmail(browserWith({ gh_session: victimToken }))).toBe("victim@fixation.example");
  });

  it("never accepts the pending-login token as a session, neither in its own cookie nor in the session cookie", async () => {
    const browser = new CookieBrowser(t.app);
    const step = await passwordStep(browser, victim());
    expect(step.status).toBe(303);
    const pending = browser.cookies.get("gh_pending")!;
    expect(pending).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const onlyPending = await browserWith({ gh_browser: browser.cookies.get("gh_browser")!, gh_pending: pending }).get("/account");
    expect(onlyPending.status).toBe(303);
    expect(onlyPending.headers.location).toBe("/login?return_to=%2Faccount");
    const asSession = await browserWith({ gh_session: pending }).get("/account");
    expect(asSession.status).toBe(303);
    expect(asSession.headers.location).toBe("/login?return_to=%2Faccount");
    expect(await t.container.infra.kv.get(`session:${sha256Hex(pending)}`)).toBeNull();
  });
});
