import { sha256Hex } from "../../../src/platform/crypto";
import { ManualClock, startTestApp, type TestApp } from "../../support/harness";
import { adminApi, auditOf, CookieBrowser, createTenant, createUser, PASSWORD, passwordStep } from "../../support/login-helpers";
import { hasPassword, LINK_ENV, linkIn, mailsTo, NEW_PASSWORD, submitReset, titleOf, tokenOf, uniqueEmail } from "./helpers";

const HOUR = 60 * 60_000;
let t: TestApp;
let clock: ManualClock;
let slug: string;

beforeAll(async () => {
  clock = new ManualClock(new Date("2026-11-27T10:00:00Z"));
  t = await startTestApp(LINK_ENV, clock);
  slug = await createTenant(t);
});
afterAll(async () => {
  await t.close();
});

/** Creates a user through the admin API; without `password` unless one is given. */
async function newUser(tenant: string, body: Record<string, unknown> = {}): Promise<{ id: string; email: string }> {
  const email = uniqueEmail("invitee");
  return { id: await createUser(t, tenant, { email, password: undefined, ...body }), email };
}

const tokensOf = (userId: string) => t.container.infra.db.passwordToken.findMany({ where: { userId } });

async function invitationToken(email: string): Promise<string> {
  const mails = await mailsTo(t, email, "invitation");
  expect(mails).toHaveLength(1);
  return tokenOf(linkIn(mails[0]!.text));
}

describe("invitations", () => {
  it("mail a contractor created without a password a 72-hour link that sets it, once", async () => {
    const user = await newUser(slug, { kind: "contractor" });
    const [mail, ...more] = await mailsTo(t, user.email);
    expect(more).toEqual([]);
    expect(mail).toMatchObject({ kind: "invitation", subject: `Your Tenant ${slug} account` });
    expect(mail!.text).toContain("72 hours");
    const link = linkIn(mail!.text);
    expect(link).toMatch(/^http:\/\/us\.gatehouse\.test\/us\/password\/reset\?token=[A-Za-z0-9_-]{43}$/);
    expect(mail!.html).toContain(`href="${link}"`);
    const token = tokenOf(link);
    expect(await tokensOf(user.id)).toEqual([
      expect.objectContaining({ purpose: "invite", tokenHash: sha256Hex(token), usedAt: null, expiresAt: new Date(clock.now().getTime() + 72 * HOUR) }),
    ]);

    const browser = new CookieBrowser(t.app);
    const done = await submitReset(browser, token, NEW_PASSWORD);
    expect([done.status, titleOf(done)]).toEqual([200, "Password changed"]);
    expect(await auditOf(t, done)).toEqual([expect.objectContaining({ type: "password.changed", data: expect.objectContaining({ by: "invitation" }) })]);
    expect(await hasPassword(t, user.id, NEW_PASSWORD)).toBe(true);
    const again = await browser.post("/us/password/reset", { token, new_password: "a different passphrase 9" });
    expect([again.status, titleOf(again)]).toEqual([400, "Link expired"]);

    // The new password signs in; MFA enrolment still comes first.
    const login = await passwordStep(new CookieBrowser(t.app), { tenant: slug, email: user.email, password: NEW_PASSWORD });
    expect(login.headers.location).toBe("/us/mfa/setup");
  });

  it("stop working 72 hours after they were mailed", async () => {
    const user = await newUser(slug);
    const token = await invitationToken(user.email);
    const browser = new CookieBrowser(t.app);
    clock.advance(72 * HOUR - 1_000);
    expect((await browser.get(`/us/password/reset?token=${token}`)).status).toBe(200);
    clock.advance(2_000);
    const late = await submitReset(browser, token, NEW_PASSWORD);
    expect([late.status, titleOf(late)]).toEqual([400, "Link expired"]);
    expect(await hasPassword(t, user.id, NEW_PASSWORD)).toBe(false);
  });

  it("go to a tenant's member without SSO, but not to a member of a tenant that signs in with SSO unless on the bypass list", async () => {
    const member = await newUser(slug, { kind: "member" });
    expect(await mailsTo(t, member.email, "invitation")).toHaveLength(1);

    const ssoTenant = await createTenant(t);
    await t.container.infra.db.tenant.update({ where: { slug: ssoTenant }, data: { ssoEnabled: true } });
    const ssoMember = await newUser(ssoTenant, { kind: "member" });
    expect(await mailsTo(t, ssoMember.email)).toEqual([]);
    expect(await tokensOf(ssoMember.id)).toEqual([]);

    const bypass = await newUser(ssoTenant, { kind: "member", ssoBypass: true });
    expect(await mailsTo(t, bypass.email, "invitation")).toHaveLength(1);
    const contractor = await newUser(ssoTenant, { kind: "contractor" });
    expect(await mailsTo(t, contractor.email, "invitation")).toHaveLength(1);
  });

  it("are not sent to a user created with an initial password", async () => {
    const user = await newUser(slug, { kind: "contractor", password: PASSWORD });
    expect(await mailsTo(t, user.email)).toEqual([]);
    expect(await tokensOf(user.id)).toEqual([]);
    expect(await hasPassword(t, user.id, PASSWORD)).toBe(true);
  });

  it("stop working when an admin corrects the address they were mailed to", async () => {
    const mistyped = await newUser(slug);
    const token = await invitationToken(mistyped.email);
    await adminApi(t).patch(`/api/v1/tenants/${slug}/users/${mistyped.id}`).send({ email: uniqueEmail("corrected") }).expect(200);
    // Whoever got the mistyped mail must not choose the password of the corrected account.
    const stale = await submitReset(new CookieBrowser(t.app), token, NEW_PASSWORD);
    expect([stale.status, titleOf(stale)]).toEqual([400, "Link expired"]);
    expect(await hasPassword(t, mistyped.id, NEW_PASSWORD)).toBe(false);
  });
});
