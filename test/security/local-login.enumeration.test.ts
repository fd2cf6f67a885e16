// Attack: probe the regional login with guesses to learn which tenants and accounts exist, are deactivated or have no password.
import bcrypt from "bcrypt";
import type supertest from "supertest";
import { startTestApp, type TestApp } from "../support/harness";
import { adminApi, auditOf, CookieBrowser, createTenant, createUser, PASSWORD, passwordStep, type LoginForm } from "../support/login-helpers";

let t: TestApp;
let slug: string;
let cases: [string, LoginForm][];

beforeAll(async () => {
  // bcrypt on libuv's pool in this process (not the worker threads), so the spy below sees every compare.
  t = await startTestApp({ BCRYPT_THREADS: "0" });
  slug = await createTenant(t);
  await createUser(t, slug, { email: "known@enum.example" });
  const gone = await createUser(t, slug, { email: "gone@enum.example" });
  await adminApi(t).patch(`/api/v1/tenants/${slug}/users/${gone}`).send({ status: "deactivated" }).expect(200);
  await createUser(t, slug, { email: "nopass@enum.example", password: undefined });
  cases = [
    ["a wrong password", { tenant: slug, email: "known@enum.example", password: "not the password at all" }],
    ["an unknown email", { tenant: slug, email: "nobody@enum.example", password: PASSWORD }],
    ["a deactivated user with the right password", { tenant: slug, email: "gone@enum.example", password: PASSWORD }],
    ["an unknown tenant", { tenant: `no-${slug}`, email: "known@enum.example", password: PASSWORD }],
    ["a user without a password", { tenant: slug, email: "nopass@enum.example", password: PASSWORD }],
  ];
});
afterAll(async () => {
  await t.close();
});

/** The page with what the visitor typed and their own CSRF token taken out: what is left must not vary. */
function normalised(res: supertest.Response, form: LoginForm, csrf: string): string {
  return [[csrf, "CSRF"], [form.tenant, "TENANT"], [form.email, "EMAIL"]].reduce((html, [from, to]) => html.split(from!).join(to!), res.text);
}

async function attempt(form: LoginForm): Promise<{ res: supertest.Response; page: string }> {
  const browser = new CookieBrowser(t.app);
  const res = await passwordStep(browser, form);
  return { res, page: normalised(res, form, browser.csrf) };
}

describe("login failures do not tell accounts apart", () => {
  it("answers every kind of failure with the same status, page, headers and audit event", async () => {
    const results = [];
    for (const [label, form] of cases) results.push({ label, ...(await attempt(form)) });
    const [baseline] = results;
    expect(baseline!.res.status).toBe(401);
    expect(baseline!.page).toContain("The account, email or password is not correct.");
    for (const { label, res, page } of results) {
      expect({ label, status: res.status }).toEqual({ label, status: 401 });
      expect({ label, page }).toEqual({ label, page: baseline!.page });
      expect({ label, type: res.headers["content-type"], cache: res.headers["cache-control"], cookies: res.headers["set-cookie"] })
        .toEqual({ label, type: baseline!.res.headers["content-type"], cache: baseline!.res.headers["cache-control"], cookies: undefined });
      expect({ label, audit: (await auditOf(t, res)).map((e) => e.type) }).toEqual({ label, audit: ["login.failed"] });
    }
  });

  it("spends the same bcrypt work on every kind of failure: one compare against a hash of the configured cost", async () => {
    const known = await t.container.infra.db.user.findFirstOrThrow({ where: { emailKey: "known@enum.example" } });
    const realRounds = bcrypt.getRounds(known.passwordHash!);
    const compare = jest.spyOn(bcrypt, "compare");
    try {
      for (const [label, form] of cases) {
        compare.mockClear();
        await attempt(form);
        const rounds = compare.mock.calls.map((call) => bcrypt.getRounds(String(call[1])));
        expect({ label, rounds }).toEqual({ label, rounds: [realRounds] });
      }
    } finally {
      compare.mockRestore();
    }
  });

  it("throttles guesses at an unknown account exactly like guesses at a real one", async () => {
    await createUser(t, slug, { email: "fresh@enum.example" });
    const real: LoginForm = { tenant: slug, email: "fresh@enum.example", password: "guess number n" };
    const unknownUser: LoginForm = { tenant: slug, email: "ghost@enum.example", password: "guess number n" };
    const unknownTenant: LoginForm = { tenant: `ghost-${slug}`, email: "known@enum.example", password: "guess number n" };
    const statuses = async (form: LoginForm) => {
      const seen: number[] = [];
      for (let i = 0; i < 11; i++) seen.push((await attempt(form)).res.status);
      return seen;
    };
    const expected = [...Array<number>(10).fill(401), 429];
    expect(await statuses(real)).toEqual(expected);
    expect(await statuses(unknownUser)).toEqual(expected);
    expect(await statuses(unknownTenant)).toEqual(expected);
  });
});
