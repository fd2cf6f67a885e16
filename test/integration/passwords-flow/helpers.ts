import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import type supertest from "supertest";
import type { Clock } from "../../../src/platform/clock";
import { oathtoolCode } from "../../support/browser";
import type { TestApp } from "../../support/harness";
import { passwordStep, type CookieBrowser, type LoginForm } from "../../support/login-helpers";

/** Meets the policy, and contains neither a test email nor a tenant name. */
export const NEW_PASSWORD = "marble otter lantern 42";
export const SESSION_COOKIE = "gh_session";
/** Region URLs of the apps in these tests; `au` has none and falls back to PUBLIC_URL. */
export const LINK_ENV = { PUBLIC_URL: "http://gatehouse.test", REGION_URLS: "us=http://us.gatehouse.test,eu=http://eu.gatehouse.test" };

type Headers = Record<string, string>;
export type MailRow = Awaited<ReturnType<TestApp["container"]["infra"]["db"]["mailOutbox"]["findMany"]>>[number];

/** A recipient no other test of the run uses: every test file shares one outbox table. */
export function uniqueEmail(label: string): string {
  return `${label}-${randomBytes(5).toString("hex")}@pw-flow.example`;
}

/** Mail rows to one address, oldest first (the test app runs no sender: the outbox is the mailbox). */
/** Queued mails to one address, once every reset link requested so far has been issued. */
export async function mailsTo(t: TestApp, to: string, kind?: string): Promise<MailRow[]> {
  await t.container.passwordReset.whenIdle();
  return t.container.infra.db.mailOutbox.findMany({ where: { to, ...(kind ? { kind } : {}) }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] });
}

export function linkIn(text: string): string {
  const match = /https?:\/\/[^\s"<>]+\/password\/reset\?token=[^\s"<>]+/.exec(text);
  if (!match) throw new Error(`no password link in: ${text}`);
  return match[0];
}

export const tokenOf = (link: string): string => new URL(link).searchParams.get("token") ?? "";

/** The token of the newest mail of `kind` to `to`. */
export async function latestToken(t: TestApp, to: string, kind = "password_reset"): Promise<string> {
  const last = (await mailsTo(t, to, kind)).at(-1);
  if (!last) throw new Error(`no ${kind} mail to ${to}`);
  return tokenOf(linkIn(last.text));
}

export const titleOf = (res: supertest.Response): string => /<h1>([^<]*)<\/h1>/.exec(res.text ?? "")?.[1] ?? "";

/** Opens the forgot-password form and submits it. */
export async function askForReset(browser: CookieBrowser, form: { tenant: string; email: string }, region = "us", headers: Headers = {}): Promise<supertest.Response> {
  await browser.get(`/${region}/password/forgot`, headers);
  return browser.post(`/${region}/password/forgot`, form, { headers });
}

/** Opens the link's page as the user would, then submits a new password with the token. */
export async function submitReset(browser: CookieBrowser, token: string, newPassword: string, options: { region?: string; headers?: Headers } = {}): Promise<supertest.Response> {
  const region = options.region ?? "us";
  await browser.get(`/${region}/password/reset?token=${encodeURIComponent(token)}`);
  // An expired link shows no form: any page of ours gives this browser its CSRF token.
  if (!browser.csrf) await browser.get(`/${region}/password/forgot`);
  return browser.post(`/${region}/password/reset`, { token, new_password: newPassword }, { headers: options.headers ?? {} });
}

export async function passwordHashOf(t: TestApp, userId: string): Promise<string | null> {
  return (await t.container.infra.db.user.findUniqueOrThrow({ where: { id: userId } })).passwordHash;
}

/** Whether `password` is the user's current password, checked with the service's own hasher. */
export async function hasPassword(t: TestApp, userId: string, password: string): Promise<boolean> {
  const hash = await passwordHashOf(t, userId);
  return hash !== null && t.container.localLogin.hasher.verify(password, hash);
}

export const sessionsOf = (t: TestApp, userId: string) => t.container.sessions.listUserSessions(userId);

/** Password step, then the TOTP code of the clock's current step. */
export async function signInWithTotp(browser: CookieBrowser, form: LoginForm, secret: string, clock: Clock): Promise<supertest.Response> {
  const step = await passwordStep(browser, form);
  if (step.headers.location !== "/us/login/mfa") throw new Error(`password step: ${step.status} ${step.headers.location ?? step.text}`);
  await browser.get("/us/login/mfa");
  return browser.post("/us/login/mfa", { code: oathtoolCode(secret, clock.now()) });
}

export type SmtpReceiver = { port: number; received: { to: string[]; raw: string }[]; close(): Promise<void> };

/** A real SMTP server on 127.0.0.1 that keeps every message it accepts. */
export async function startSmtpReceiver(): Promise<SmtpReceiver> {
  const received: SmtpReceiver["received"] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    onData(stream, session, callback) {
      let raw = "";
      stream.on("data", (chunk: Buffer) => (raw += chunk.toString()));
      stream.on("end", () => {
        received.push({ to: session.envelope.rcptTo.map((r) => r.address), raw });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.server.address() as AddressInfo;
  return { port, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Enough of RFC 2045 quoted-printable for ASCII mail: soft line breaks and =XX escapes. */
export function decodeQuotedPrintable(raw: string): string {
  return raw.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
