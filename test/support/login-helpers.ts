import http from "node:http";
import type { GatehouseApp } from "../../src/app";
import supertest from "supertest";
import type { Clock } from "../../src/platform/clock";
import { oathtoolCode, textOf } from "./browser";
import { uniqueSlug, type TestApp } from "./harness";

export const PASSWORD = "correct horse battery staple";
export const STEP_MS = 30_000;

// One listening server per app instead of one per request (three times faster); unref'd, so it never holds jest open.
const servers = new WeakMap<GatehouseApp, http.Server>();
function serverFor(app: GatehouseApp): http.Server {
  let server = servers.get(app);
  if (!server) {
    server = http.createServer(app).listen(0);
    server.unref();
    servers.set(app, server);
  }
  return server;
}

type Form = Record<string, string>;
export type LoginForm = { tenant: string; email: string; password: string };

/**
 * The admin API for setting tests up, without t.api()'s openapi.yaml check: the contract tests own that
 * check, and its spec validation would cost every security test file a couple of seconds.
 */
export function adminApi(t: TestApp): Record<"get" | "post" | "patch", (url: string) => supertest.Test> {
  const server = serverFor(t.app);
  const as = (req: supertest.Test) => req.set("Authorization", `Bearer ${t.adminToken}`);
  return { get: (url) => as(supertest(server).get(url)), post: (url) => as(supertest(server).post(url)), patch: (url) => as(supertest(server).patch(url)) };
}

/** Creates a tenant through the admin API; returns its slug. */
export async function createTenant(t: TestApp, body: Record<string, unknown> = {}): Promise<string> {
  const slug = uniqueSlug("sec");
  const res = await adminApi(t).post("/api/v1/tenants").send({ slug, name: `Tenant ${slug}`, region: "us", ...body });
  if (res.status !== 201) throw new Error(`tenant not created: ${res.status} ${res.text}`);
  return slug;
}

/** Creates a user (a contractor with PASSWORD unless told otherwise); returns its id. */
export async function createUser(t: TestApp, slug: string, body: { email: string } & Record<string, unknown>): Promise<string> {
  const res = await adminApi(t).post(`/api/v1/tenants/${slug}/users`).send({ name: "Someone", kind: "contractor", password: PASSWORD, ...body });
  if (res.status !== 201) throw new Error(`user not created: ${res.status} ${res.text}`);
  return res.body.id as string;
}

export type SetCookie = { name: string; value: string; attributes: Record<string, string | true> };

/** The Set-Cookie headers of a response, parsed; attribute names lower-cased. */
export function setCookiesOf(res: supertest.Response): SetCookie[] {
  const raw = res.headers["set-cookie"] as unknown;
  const headers = Array.isArray(raw) ? (raw as string[]) : typeof raw === "string" ? [raw] : [];
  return headers.map((header) => {
    const [pair = "", ...attrs] = header.split(";");
    const eq = pair.indexOf("=");
    const attributes: Record<string, string | true> = {};
    for (const attr of attrs) {
      const i = attr.indexOf("=");
      if (i < 0) attributes[attr.trim().toLowerCase()] = true;
      else attributes[attr.slice(0, i).trim().toLowerCase()] = attr.slice(i + 1).trim();
    }
    return { name: pair.slice(0, eq).trim(), value: decodeURIComponent(pair.slice(eq + 1).trim()), attributes };
  });
}

function isDeletion(cookie: SetCookie): boolean {
  const expires = cookie.attributes.expires;
  return cookie.value === "" || (typeof expires === "string" && Date.parse(expires) <= Date.now());
}

/**
 * A browser whose cookie jar the test controls: cookies can be planted or copied between browsers, and
 * Secure cookies are sent back over the test's plain HTTP (supertest's own jar would drop them).
 */
export class CookieBrowser {
  readonly cookies = new Map<string, string>();
  csrf = "";

  private readonly server: http.Server;

  constructor(app: GatehouseApp) {
    this.server = serverFor(app);
  }

  get(path: string, headers: Record<string, string> = {}): Promise<supertest.Response> {
    return this.send(supertest(this.server).get(path), headers);
  }

  /** Posts a form with this browser's CSRF token unless `withCsrf` is false or the form carries its own. */
  post(path: string, form: Form, options: { headers?: Record<string, string>; withCsrf?: boolean } = {}): Promise<supertest.Response> {
    const body = options.withCsrf === false ? form : { _csrf: this.csrf, ...form };
    return this.send(supertest(this.server).post(path).type("form"), options.headers ?? {}, body);
  }

  private async send(req: supertest.Test, headers: Record<string, string>, form?: Form): Promise<supertest.Response> {
    req.set("Accept", "text/html");
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    if (cookie) req.set("Cookie", cookie);
    for (const [name, value] of Object.entries(headers)) req.set(name, value);
    const res = form ? await req.send(form) : await req;
    for (const c of setCookiesOf(res)) {
      if (isDeletion(c)) this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
    const match = /name="_csrf" value="([^"]+)"/.exec(res.text ?? "");
    if (match?.[1]) this.csrf = match[1];
    return res;
  }
}

/** Opens the login form and submits the password step. */
export async function passwordStep(browser: CookieBrowser, form: LoginForm, headers: Record<string, string> = {}): Promise<supertest.Response> {
  await browser.get(`/us/login?tenant=${encodeURIComponent(form.tenant)}`, headers);
  return browser.post("/us/login", form, { headers });
}

/** Password step, then "Not now" at enrolment: an aal1 session (tenant with mfaRequired false). */
export async function signInSkippingMfa(browser: CookieBrowser, form: LoginForm): Promise<supertest.Response> {
  const step = await passwordStep(browser, form);
  if (step.headers.location !== "/us/mfa/setup") throw new Error(`password step: ${step.status} ${step.headers.location ?? step.text}`);
  const done = await browser.post("/us/mfa/setup/skip", {});
  if (done.status !== 303) throw new Error(`skip enrolment: ${done.status} ${done.text}`);
  return done;
}

/** Password step and TOTP with the code of the clock's current step. */
export async function signInWithTotp(browser: CookieBrowser, form: LoginForm, secret: string, clock: Clock): Promise<supertest.Response> {
  const step = await passwordStep(browser, form);
  if (step.headers.location !== "/us/login/mfa") throw new Error(`password step: ${step.status} ${step.headers.location ?? step.text}`);
  await browser.get("/us/login/mfa");
  return browser.post("/us/login/mfa", { code: oathtoolCode(secret, clock.now()) });
}

/** Signs in for the first time through TOTP enrolment; returns the secret and the recovery codes shown once. */
export async function enrolTotp(t: TestApp, form: LoginForm, clock: Clock): Promise<{ browser: CookieBrowser; secret: string; recoveryCodes: string[] }> {
  const browser = new CookieBrowser(t.app);
  const step = await passwordStep(browser, form);
  if (step.headers.location !== "/us/mfa/setup") throw new Error(`password step: ${step.status} ${step.headers.location ?? step.text}`);
  const secret = textOf((await browser.get("/us/mfa/setup")).text, "totp-secret");
  const done = await browser.post("/us/mfa/setup", { code: oathtoolCode(secret, clock.now()) });
  if (done.status !== 303) throw new Error(`enrolment: ${done.status} ${done.text}`);
  const page = await browser.get(String(done.headers.location));
  const recoveryCodes = [...page.text.matchAll(/<li><code>([^<]+)<\/code><\/li>/g)].map((m) => m[1]!);
  return { browser, secret, recoveryCodes };
}

/** A 6-digit code that is valid in none of the steps the server accepts around `at`. */
export function wrongTotpCode(secret: string, at: Date): string {
  const valid = new Set([-STEP_MS, 0, STEP_MS].map((offset) => oathtoolCode(secret, new Date(at.getTime() + offset))));
  for (let n = Number(oathtoolCode(secret, at)) + 1; ; n++) {
    const code = String(n % 1_000_000).padStart(6, "0");
    if (!valid.has(code)) return code;
  }
}

/** The audit rows written while serving one response (matched by its X-Request-Id). */
export async function auditOf(t: TestApp, res: supertest.Response): Promise<{ type: string; ip: string | null; data: unknown }[]> {
  const requestId = String(res.headers["x-request-id"]);
  const rows = await t.container.infra.db.auditEvent.findMany({ where: { requestId }, orderBy: { id: "asc" } });
  return rows.map((row) => ({ type: row.type, ip: row.ip, data: row.data }));
}
