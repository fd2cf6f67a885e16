// Attack: submit forgot-password guesses and read (or time) the answers, or flood them, to learn which tenants and accounts exist, are deactivated or sign in only with SSO.
import type supertest from "supertest";
import { startTestApp, type TestApp } from "../support/harness";
import { adminApi, CookieBrowser, createTenant, createUser, setCookiesOf } from "../support/login-helpers";
import { askForReset, LINK_ENV, mailsTo, titleOf, uniqueEmail } from "../integration/passwords-flow/helpers";

let t: TestApp;
let slug: string;
let ssoSlug: string;
const emails = { eligible: "", deactivated: "", ssoOnly: "", bypass: "", unknown: "" };

beforeAll(async () => {
  t = await startTestApp(LINK_ENV);
  slug = await createTenant(t);
  ssoSlug = await createTenant(t);
  await t.container.infra.db.tenant.update({ where: { slug: ssoSlug }, data: { ssoEnabled: true, ssoEnforced: true } });
  for (const key of Object.keys(emails) as (keyof typeof emails)[]) emails[key] = uniqueEmail(key.toLowerCase());
  await createUser(t, slug, { email: emails.eligible });
  const gone = await createUser(t, slug, { email: emails.deactivated });
  await adminApi(t).patch(`/api/v1/tenants/${slug}/users/${gone}`).send({ status: "deactivated" }).expect(200);
  await createUser(t, ssoSlug, { email: emails.ssoOnly, kind: "member" });
  await createUser(t, ssoSlug, { email: emails.bypass, kind: "member", ssoBypass: true });
});
afterAll(async () => {
  await t.close();
});

type Form = { tenant: string; email: string };

/** Status, page (CSRF token and what the visitor typed taken out) and the headers a visitor sees. */
async function answerTo(form: Form): Promise<{ res: supertest.Response; seen: unknown }> {
  const browser = new CookieBrowser(t.app);
  const res = await askForReset(browser, form);
  const page = [browser.csrf, form.tenant, form.email].reduce((html, secret) => (secret ? html.split(secret).join("X") : html), res.text);
  const headers = { type: res.headers["content-type"], cache: res.headers["cache-control"], retryAfter: res.headers["retry-after"], cookies: setCookiesOf(res).map((c) => c.name) };
  return { res, seen: { status: res.status, page, headers } };
}

describe("forgot-password answers do not tell accounts apart", () => {
  it("gives an unknown tenant, an unknown email, a deactivated user and an SSO-only member the eligible user's answer, and mails only the eligible", async () => {
    const eligible = await answerTo({ tenant: slug, email: emails.eligible });
    expect(eligible.res.status).toBe(200);
    expect(titleOf(eligible.res)).toBe("Check your email");
    const cases: [string, Form][] = [
      ["unknown tenant", { tenant: `no-${slug}`, email: emails.eligible }],
      ["unknown email", { tenant: slug, email: emails.unknown }],
      ["deactivated user", { tenant: slug, email: emails.deactivated }],
      ["member of an SSO-enforced tenant, not on the bypass list", { tenant: ssoSlug, email: emails.ssoOnly }],
      ["email in the wrong case", { tenant: slug.toUpperCase(), email: emails.eligible.toUpperCase() }],
    ];
    for (const [label, form] of cases) {
      const { seen } = await answerTo(form);
      expect({ label, seen }).toEqual({ label, seen: eligible.seen });
    }

    expect(await mailsTo(t, emails.eligible, "password_reset")).toHaveLength(2);
    for (const email of [emails.deactivated, emails.ssoOnly, emails.unknown]) expect({ email, mails: await mailsTo(t, email) }).toEqual({ email, mails: [] });
  });

  it("takes no longer to answer for an account that gets a mail than for one that does not", async () => {
    // Medians of interleaved samples, with a wide margin: only work done for real accounts alone should fail this.
    const eligible: string[] = [];
    for (let i = 0; i < 15; i += 1) eligible.push(uniqueEmail("timed"));
    for (const email of eligible) await createUser(t, slug, { email });
    const browser = new CookieBrowser(t.app);
    await browser.get("/us/password/forgot");
    const timed = async (email: string) => {
      const start = performance.now();
      expect((await browser.post("/us/password/forgot", { tenant: slug, email })).status).toBe(200);
      return performance.now() - start;
    };
    const mailed: number[] = [];
    const ignored: number[] = [];
    for (const email of eligible) {
      mailed.push(await timed(email));
      ignored.push(await timed(uniqueEmail("ghost")));
    }
    const median = (ms: number[]) => [...ms].sort((a, b) => a - b)[Math.floor(ms.length / 2)]!;
    expect(median(mailed)).toBeLessThan(median(ignored) * 1.5 + 10);
  });

  it("mails a member of an SSO-enforced tenant who is on the bypass list", async () => {
    await answerTo({ tenant: ssoSlug, email: emails.bypass });
    expect(await mailsTo(t, emails.bypass, "password_reset")).toHaveLength(1);
  });
});

describe("forgot-password is throttled", () => {
  /** Forgot requests from one IP (the i-th with form(i)) until one is not answered 200; its number, or null after 15. */
  async function requestsUntilThrottled(form: (i: number) => Form): Promise<{ count: number | null; res?: supertest.Response }> {
    const browser = new CookieBrowser(t.app);
    await browser.get("/us/password/forgot");
    for (let count = 1; count <= 15; count += 1) {
      const res = await browser.post("/us/password/forgot", form(count));
      if (res.status !== 200) return { count, res };
    }
    return { count: null };
  }

  it("answers repeated requests for one account with 429 and Retry-After, for known and unknown accounts alike", async () => {
    const email = uniqueEmail("flood");
    await createUser(t, slug, { email });
    const known = await requestsUntilThrottled(() => ({ tenant: slug, email }));
    expect(known.res?.status).toBe(429);
    expect(Number(known.res?.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(known.count).toBeLessThanOrEqual(11);
    // A mailbox cannot be flooded: throttled requests mail nothing.
    expect(await mailsTo(t, email, "password_reset")).toHaveLength(known.count! - 1);

    const nobody = uniqueEmail("nobody");
    const unknown = await requestsUntilThrottled(() => ({ tenant: slug, email: nobody }));
    expect([unknown.res?.status, unknown.count]).toEqual([429, known.count]);
  });

  it("counts the spellings of an unknown tenant as one account, as it does for a known tenant", async () => {
    // The lookup ignores case and surrounding spaces. A counter that did not would never throttle varied
    // spellings of a tenant that does not exist, and so tell it apart from one that does.
    const email = uniqueEmail("spelling");
    const spelling = (tenant: string) => (i: number) => ({ tenant: `${" ".repeat(i >> 1)}${i % 2 ? tenant.toUpperCase() : tenant}`, email });
    const known = await requestsUntilThrottled(spelling(slug));
    const unknown = await requestsUntilThrottled(spelling(`no-${slug}`));
    expect(known.count).not.toBeNull();
    expect(unknown.count).toBe(known.count);
  });
});
