/**
 * Browser test: a contractor logs in at /us/login, enrols TOTP reading the secret from the page, logs out,
 * logs in again with a fresh code and sees their session on /account; then replaces the authenticator app
 * and makes new recovery codes there. Plus axe accessibility checks.
 *
 * Runs Debian's Chromium through playwright-core (STACK.md, "Browser"): `npx playwright install` cannot
 * download browsers on these machines. Without /usr/bin/chromium the test FAILS with install instructions.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { chromium, type BrowserContext, type Locator, type Page } from "playwright-core";
import { oathtoolCode } from "../support/browser";
import { ManualClock, startTestApp, uniqueSlug, type TestApp } from "../support/harness";

/** Debian's Chromium; CHROMIUM_PATH points elsewhere (another distribution, macOS). */
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
const ARTIFACTS = path.join(__dirname, "artifacts");
const EMAIL = "contractor@e2e.example";
const PASSWORD = "correct horse battery staple";
const STEP_MS = 30_000;
const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"];

let t: TestApp | undefined;
let server: http.Server | undefined;
let context: BrowserContext | undefined;
let userDataDir: string | undefined;
let baseUrl = "";
let slug = "";
let clock: ManualClock;
const axeFindings: Record<string, unknown[]> = {};
/** The contractor's TOTP secret, read at enrolment by the first test; the second one replaces it. */
let secret = "";

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `The browser test needs Chromium at ${CHROMIUM}, which is missing. On Debian/Ubuntu install it with ` +
        "`sudo apt-get update && sudo apt-get install -y chromium` (.ci/run does this), or set CHROMIUM_PATH " +
        "to a Chromium/Chrome binary. `npx playwright install` cannot download browsers here (STACK.md, \"Browser\").",
    );
  }
  rmSync(ARTIFACTS, { recursive: true, force: true }); // nothing stale from an earlier run
  mkdirSync(ARTIFACTS, { recursive: true });

  // Listen first so PUBLIC_URL (the origin the CSRF check accepts) is the address the browser really uses.
  server = http.createServer();
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // A manual clock: the second login moves it one TOTP step on instead of waiting 30 s for the replay guard.
  clock = new ManualClock();
  t = await startTestApp({ PUBLIC_URL: baseUrl }, clock);
  server.on("request", t.app);

  slug = uniqueSlug("e2e");
  await t.api().post("/api/v1/tenants").send({ slug, name: "E2E Contracting", region: "us" }).expect(201);
  await t.api().post(`/api/v1/tenants/${slug}/users`)
    .send({ email: EMAIL, name: "Casey Contractor", kind: "contractor", password: PASSWORD })
    .expect(201);

  userDataDir = mkdtempSync(path.join(tmpdir(), "gatehouse-chromium-"));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    timeout: 15_000,
    viewport: { width: 1000, height: 800 },
  });
  context.setDefaultTimeout(10_000);
}, 30_000);

afterAll(async () => {
  await context?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  if (server?.listening) await new Promise<void>((resolve) => server!.close(() => resolve()));
  await t?.close();
  if (Object.keys(axeFindings).length > 0) {
    writeFileSync(path.join(ARTIFACTS, "axe-findings.json"), `${JSON.stringify(axeFindings, null, 2)}\n`);
  }
}, 20_000);

/**
 * axe-core on the current page: no serious or critical violations. All rules in the light colour scheme, then
 * colour contrast again in the dark one (the stylesheet declares both). Findings and a screenshot go to artifacts/.
 */
async function expectAccessible(page: Page, name: string): Promise<void> {
  const blocking: unknown[] = [];
  for (const colorScheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme });
    const axe = new AxeBuilder({ page });
    const results = await (colorScheme === "light" ? axe.withTags(AXE_TAGS) : axe.withRules(["color-contrast"])).analyze();
    expect(results.passes.length).toBeGreaterThan(0); // axe really ran in the page (the CSP did not stop it)
    const summary = results.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")),
    }));
    if (summary.length > 0) axeFindings[`${name} (${colorScheme})`] = summary;
    blocking.push(...summary.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => ({ colorScheme, ...v })));
  }
  await page.emulateMedia({ colorScheme: "light" });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
  expect({ page: name, seriousOrCritical: blocking }).toEqual({ page: name, seriousOrCritical: [] });
}

/** Waits for a page at `pathname`; on failure says where the browser is and what the page says. */
async function waitForPath(page: Page, pathname: string): Promise<void> {
  try {
    await page.waitForURL((url) => url.pathname === pathname);
  } catch (error) {
    const shown = await page.locator("main").innerText().catch(() => "(no page)");
    await page.screenshot({ path: path.join(ARTIFACTS, "failure.png"), fullPage: true }).catch(() => undefined);
    throw new Error(`expected ${pathname}, browser is at ${page.url()} showing:\n${shown}\n(${String(error)})`);
  }
}

async function expectValue(locator: Locator, value: string): Promise<void> {
  expect(await locator.inputValue()).toBe(value);
}

describe("contractor in a browser (Chromium)", () => {
  it("logs in, enrols TOTP, logs out, logs in again with a fresh code and sees the session", async () => {
    const page = await context!.newPage();

    // 1. Password step at the regional login page.
    await page.goto(`${baseUrl}/us/login?tenant=${slug}`);
    expect(await page.title()).toBe("Sign in · Gatehouse");
    await expectValue(page.getByLabel("Account"), slug);

    // A wrong password: 401, the same form again with the error announced. axe checks this state of the
    // login page (the plain form plus the error message).
    await page.getByLabel("Email").fill(EMAIL);
    await page.getByLabel("Password").fill("not the password");
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/us/login"),
      page.getByRole("button", { name: "Sign in" }).click(),
    ]);
    expect(refused.status()).toBe(401);
    await page.locator("#form-error").waitFor();
    await expectAccessible(page, "login");

    await expectValue(page.getByLabel("Email"), EMAIL);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();

    // 2. TOTP enrolment: read the secret from the page, compute the code with oathtool.
    await waitForPath(page, "/us/mfa/setup");
    await expectAccessible(page, "mfa-setup");
    secret = (await page.locator("#totp-secret").textContent())?.trim() ?? "";
    expect(secret).toMatch(/^[A-Z2-7]{26,}$/);
    expect(await page.locator("#totp-uri").textContent()).toContain(`secret=${secret}`);
    await page.getByLabel("Code from your app").fill(oathtoolCode(secret, clock.now()));
    await page.getByRole("button", { name: "Confirm" }).click();

    // 3. Recovery codes, shown once.
    await waitForPath(page, "/account");
    expect(await page.locator("h1").textContent()).toBe("Save your recovery codes");
    const codes = await page.locator("#recovery-codes li").allTextContents();
    expect(codes).toHaveLength(10);
    for (const code of codes) expect(code.trim()).toMatch(/^[0-9a-z]{5}-[0-9a-z]{5}$/);
    await page.getByRole("link", { name: "Continue" }).click();

    // 4. The account page, then sign out.
    await waitForPath(page, "/account");
    expect(await page.locator("#account-email").textContent()).toBe(EMAIL);
    await page.locator('form[action="/logout"]').getByRole("button", { name: "Sign out" }).click();
    await waitForPath(page, "/login");
    await page.goto(`${baseUrl}/account`);
    expect(new URL(page.url()).pathname).toBe("/login");

    // 5. Log in again. The code used at enrolment is refused (replay guard); one from the next step works.
    await page.goto(`${baseUrl}/us/login?tenant=${slug}`);
    await page.getByLabel("Email").fill(EMAIL);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await waitForPath(page, "/us/login/mfa");
    await page.getByLabel("Code").fill(oathtoolCode(secret, clock.now()));
    await page.getByRole("button", { name: "Verify" }).click();
    await page.locator("#form-error").waitFor();
    expect(new URL(page.url()).pathname).toBe("/us/login/mfa");
    clock.advance(STEP_MS);
    await page.getByLabel("Code").fill(oathtoolCode(secret, clock.now()));
    await page.getByRole("button", { name: "Verify" }).click();

    // 6. /account lists exactly this browser's session, password + TOTP (aal2).
    await waitForPath(page, "/account");
    expect(await page.locator("#account-email").textContent()).toBe(EMAIL);
    const rows = page.locator("#sessions tbody tr");
    expect(await rows.count()).toBe(1);
    const row = rows.first();
    expect(await row.getAttribute("class")).toBe("current");
    const rowText = (await row.textContent()) ?? "";
    expect(rowText).toContain("password (aal2)");
    expect(rowText).toContain("This session");
    expect(rowText).toContain("127.0.0.1");
    expect(rowText).toContain("HeadlessChrome");
    await expectAccessible(page, "account"); // also saves artifacts/account.png

    await page.close();
  }, 45_000);

  it("replaces the authenticator app, then makes new recovery codes, from the account page", async () => {
    expect(secret).not.toBe(""); // the first test enrolled, and this browser is still signed in
    const page = await context!.newPage();
    clock.advance(STEP_MS);
    await page.goto(`${baseUrl}/account`);
    await page.getByRole("link", { name: "Replace your authenticator app" }).click();

    // Step one: a code of the app in hand.
    await waitForPath(page, "/account/authenticator");
    await expectAccessible(page, "authenticator-proof");
    await page.getByLabel("Current code or recovery code").fill(oathtoolCode(secret, clock.now()));
    await page.getByRole("button", { name: "Continue" }).click();

    // Step two: the new app's secret, and its first code in the next step (this one is spent).
    await page.locator("#totp-secret").waitFor();
    await expectAccessible(page, "authenticator-setup");
    const newSecret = (await page.locator("#totp-secret").textContent())?.trim() ?? "";
    expect(newSecret).toMatch(/^[A-Z2-7]{26,}$/);
    expect(newSecret).not.toBe(secret);
    clock.advance(STEP_MS);
    await page.getByLabel("Code from your new app").fill(oathtoolCode(newSecret, clock.now()));
    await page.getByRole("button", { name: "Replace" }).click();
    await waitForPath(page, "/account");
    expect(await page.locator("#account-email").textContent()).toBe(EMAIL);

    // New recovery codes for a code of the new app, shown once.
    clock.advance(STEP_MS);
    await page.getByLabel("Code from your authenticator app").fill(oathtoolCode(newSecret, clock.now()));
    await page.getByRole("button", { name: "Make new recovery codes" }).click();
    await waitForPath(page, "/account");
    expect(await page.locator("h1").textContent()).toBe("Save your recovery codes");
    expect(await page.locator("#recovery-codes li").count()).toBe(10);
    await page.getByRole("link", { name: "Continue" }).click();
    await waitForPath(page, "/account");
    expect(await page.locator("#recovery-codes-left").textContent()).toBe("10 unused recovery codes left.");

    await page.close();
  }, 45_000);
});
