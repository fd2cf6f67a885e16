// Attack: take over an account through its reset link: read the token table, point one user's link at another account, tamper with the token, or race two submissions of one link.
import { createHash } from "node:crypto";
import { startTestApp, type TestApp } from "../support/harness";
import { CookieBrowser, createTenant, createUser, PASSWORD, signInSkippingMfa } from "../support/login-helpers";
import { askForReset, hasPassword, latestToken, LINK_ENV, mailsTo, NEW_PASSWORD, submitReset, titleOf, uniqueEmail } from "../integration/passwords-flow/helpers";

let t: TestApp;
let slug: string;

beforeAll(async () => {
  t = await startTestApp(LINK_ENV);
  slug = await createTenant(t);
});
afterAll(async () => {
  await t.close();
});

async function userWithLink(label: string, tenant = slug): Promise<{ id: string; email: string; token: string }> {
  const email = uniqueEmail(label);
  const id = await createUser(t, tenant, { email });
  await askForReset(new CookieBrowser(t.app), { tenant, email });
  return { id, email, token: await latestToken(t, email) };
}

const asJson = (value: unknown) => JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? String(v) : v));

describe("reset tokens", () => {
  it("are stored only as their SHA-256: a copy of the token table opens no link", async () => {
    const user = await userWithLink("stored");
    const db = t.container.infra.db;
    const rows = await db.passwordToken.findMany({ where: { userId: user.id } });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.tokenHash).toBe(createHash("sha256").update(user.token, "utf8").digest("hex"));
    const stored = [rows, await db.user.findMany({ where: { id: user.id } }), await db.auditEvent.findMany({ where: { targetId: user.id } })];
    expect(asJson(stored)).not.toContain(user.token);

    const withHash = await submitReset(new CookieBrowser(t.app), rows[0]!.tokenHash, NEW_PASSWORD);
    expect([withHash.status, titleOf(withHash)]).toEqual([400, "Link expired"]);
    expect(await hasPassword(t, user.id, PASSWORD)).toBe(true);
  });

  it("set the password of the user the link was mailed to only, whatever else the form names", async () => {
    const otherTenant = await createTenant(t);
    const holder = await userWithLink("holder");
    const victimEmail = uniqueEmail("victim");
    const victim = await createUser(t, slug, { email: victimEmail });
    // The same email in another tenant is another user.
    const twin = await createUser(t, otherTenant, { email: holder.email });

    const browser = new CookieBrowser(t.app);
    await browser.get(`/us/password/reset?token=${holder.token}`);
    const res = await browser.post("/us/password/reset", { token: holder.token, new_password: NEW_PASSWORD, tenant: otherTenant, email: victimEmail, user_id: victim, userId: twin });
    expect(res.status).toBe(200);
    expect(await hasPassword(t, holder.id, NEW_PASSWORD)).toBe(true);
    expect(await hasPassword(t, victim, PASSWORD)).toBe(true);
    expect(await hasPassword(t, twin, PASSWORD)).toBe(true);
    expect(await mailsTo(t, victimEmail)).toEqual([]);
  });

  it("refuse a tampered token and leave the real one usable", async () => {
    const user = await userWithLink("tampered");
    const { token } = user;
    const swap = (c: string) => (c === "A" ? "B" : "A");
    const forgeries = [
      token.slice(0, -1) + swap(token.at(-1)!),
      swap(token[0]!) + token.slice(1),
      token.slice(0, -1),
      `${token}A`,
      ` ${token}`,
      token.replace(/[a-z]/, (c) => c.toUpperCase()),
      "",
    ];
    const browser = new CookieBrowser(t.app);
    for (const forged of forgeries) {
      const res = await submitReset(browser, forged, NEW_PASSWORD);
      expect({ forged, status: res.status, title: titleOf(res) }).toEqual({ forged, status: 400, title: "Link expired" });
    }
    expect(await hasPassword(t, user.id, PASSWORD)).toBe(true);
    expect((await submitReset(browser, token, NEW_PASSWORD)).status).toBe(200);
  });

  it("let exactly one of several simultaneous submissions of one link through", async () => {
    const user = await userWithLink("race");
    const browsers = Array.from({ length: 4 }, () => new CookieBrowser(t.app));
    for (const browser of browsers) expect((await browser.get(`/us/password/reset?token=${user.token}`)).status).toBe(200);
    const passwords = browsers.map((_, i) => `${NEW_PASSWORD} take ${i}`);

    // Hold each submission at the service's door until all have arrived, so they really overlap.
    const service = t.container.passwordReset;
    const setPassword = service.setPasswordWithToken.bind(service);
    let arrived = 0;
    let openDoor = () => {};
    const allArrived = new Promise<void>((resolve) => (openDoor = resolve));
    const door = jest.spyOn(service, "setPasswordWithToken").mockImplementation(async (...args) => {
      if (++arrived === browsers.length) openDoor();
      await allArrived;
      return setPassword(...args);
    });
    const results = await Promise.all(browsers.map((browser, i) => browser.post("/us/password/reset", { token: user.token, new_password: passwords[i]! }))).finally(() => door.mockRestore());
    expect(arrived).toBe(browsers.length);
    const outcomes = results.map((res) => `${res.status} ${titleOf(res)}`);
    expect(outcomes.filter((o) => o === "200 Password changed")).toHaveLength(1);
    expect(outcomes.filter((o) => o === "400 Link expired")).toHaveLength(3);
    const winner = outcomes.indexOf("200 Password changed");
    expect(await hasPassword(t, user.id, passwords[winner]!)).toBe(true);
    expect(await mailsTo(t, user.email, "password_changed")).toHaveLength(1);
    const changes = await t.container.infra.db.auditEvent.findMany({ where: { targetId: user.id, type: "password.changed" } });
    expect(changes).toHaveLength(1);
  });

  it("die when the password is set by another link: an old invitation in a mailbox cannot overwrite it", async () => {
    const email = uniqueEmail("invited");
    const id = await createUser(t, slug, { email, password: undefined });
    const invitation = await latestToken(t, email, "invitation");
    await askForReset(new CookieBrowser(t.app), { tenant: slug, email });
    expect((await submitReset(new CookieBrowser(t.app), await latestToken(t, email), NEW_PASSWORD)).status).toBe(200);

    const late = await submitReset(new CookieBrowser(t.app), invitation, "someone else's passphrase 1");
    expect([late.status, titleOf(late)]).toEqual([400, "Link expired"]);
    expect(await hasPassword(t, id, NEW_PASSWORD)).toBe(true);
  });

  it("die when the user changes the password while signed in", async () => {
    const open = await createTenant(t, { mfaRequired: false });
    const user = await userWithLink("changed", open);
    const browser = new CookieBrowser(t.app);
    await signInSkippingMfa(browser, { tenant: open, email: user.email, password: PASSWORD });
    await browser.get("/us/password/change");
    expect((await browser.post("/us/password/change", { password: PASSWORD, new_password: NEW_PASSWORD })).status).toBe(303);

    const late = await submitReset(new CookieBrowser(t.app), user.token, "someone else's passphrase 2");
    expect([late.status, titleOf(late)]).toEqual([400, "Link expired"]);
    expect(await hasPassword(t, user.id, NEW_PASSWORD)).toBe(true);
  });
});
