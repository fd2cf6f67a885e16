import { createUserService } from "../../../src/users/user.service";
import { createUserStore } from "../../../src/users/user.store";
import { startTestApp, uniqueSlug, type TestApp } from "../../support/harness";

let t: TestApp;
let slug: string;
beforeAll(async () => {
  t = await startTestApp();
  slug = uniqueSlug("users");
  await t.api().post("/api/v1/tenants").send({ slug, name: "Users Inc", region: "us" }).expect(201);
});
afterAll(async () => {
  await t.close();
});

const users = () => `/api/v1/tenants/${slug}/users`;

describe("users admin API", () => {
  it("creates a user with defaults, reads it, and never returns secrets", async () => {
    const res = await t.api().post(users()).send({ email: "  Ada@Example.COM ", name: "Ada", kind: "contractor" });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ id: expect.any(String), email: "Ada@Example.COM", name: "Ada", kind: "contractor", role: "user", status: "active", ssoBypass: false });
    expect(Object.keys(res.body)).not.toEqual(expect.arrayContaining(["emailKey", "passwordHash"]));
    const read = await t.api().get(`${users()}/${res.body.id}`);
    expect(read.body).toEqual({ ...res.body, recoveryCodesLeft: null });
  });

  it("treats email as unique per tenant regardless of case", async () => {
    await t.api().post(users()).send({ email: "bob@example.com", name: "Bob", kind: "member" }).expect(201);
    const dup = await t.api().post(users()).send({ email: "BOB@example.com", name: "Bob 2", kind: "member" });
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe("user_email_taken");
  });

  it("lets the same email exist as two users in two tenants", async () => {
    const other = uniqueSlug("users");
    await t.api().post("/api/v1/tenants").send({ slug: other, name: "Other", region: "eu" }).expect(201);
    await t.api().post(users()).send({ email: "shared@example.com", name: "S1", kind: "member" }).expect(201);
    const second = await t.api().post(`/api/v1/tenants/${other}/users`).send({ email: "shared@example.com", name: "S2", kind: "member" });
    expect(second.status).toBe(201);
  });

  it.each([
    ["an invalid email", { email: "not-an-email", name: "X", kind: "member" }, "email"],
    ["an unknown kind", { email: "k@example.com", name: "X", kind: "vendor" }, "kind"],
    ["an unknown role", { email: "r@example.com", name: "X", kind: "member", role: "root" }, "role"],
    ["a missing name", { email: "n@example.com", kind: "member" }, "name"],
  ])("refuses %s with 400", async (_label, body, path) => {
    const res = await t.api().post(users()).send(body);
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it.each([
    ["a short password", "short-pw"],
    ["a common password", "password1234"],
    ["a password made of the email's local part", "policy.checkpolicy.check"],
  ])("refuses %s set by an admin, saying why, and creates nothing", async (_label, password) => {
    const res = await t.api().post(users()).send({ email: "policy.check@example.com", name: "P", kind: "contractor", password });
    expect(res.status).toBe(400);
    expect(res.body.errors.length).toBeGreaterThan(0);
    for (const error of res.body.errors) expect(error).toEqual({ path: "password", message: expect.any(String) });
    expect(JSON.stringify(res.body)).not.toContain(password);
    expect((await t.api().get(users()).query({ email: "policy.check@" })).body.items).toEqual([]);
  });

  it("deactivates and reactivates a user, keeping the record, with audit events", async () => {
    const created = await t.api().post(users()).send({ email: "cancel@example.com", name: "Cancelled", kind: "client" }).expect(201);
    const off = await t.api().patch(`${users()}/${created.body.id}`).send({ status: "deactivated" });
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ status: "deactivated", deactivatedAt: expect.any(String), email: "cancel@example.com", name: "Cancelled" });
    const on = await t.api().patch(`${users()}/${created.body.id}`).send({ status: "active" });
    expect(on.body).toMatchObject({ status: "active", deactivatedAt: null });

    const audit = await t.api().get(`/api/v1/tenants/${slug}/audit-events`).query({ type: "user.deactivated,user.reactivated" });
    const forUser = audit.body.items.filter((e: { target: { id: string } }) => e.target.id === created.body.id);
    expect(forUser.map((e: { type: string }) => e.type)).toEqual(["user.reactivated", "user.deactivated"]);
    expect(forUser[1].data).toMatchObject({ before: { status: "active" }, after: { status: "deactivated" } });
  });

  it("searches by part of the email, case-insensitively, and filters by status", async () => {
    await t.api().post(users()).send({ email: "find.me@search.example", name: "Find", kind: "member" }).expect(201);
    const res = await t.api().get(users()).query({ email: "FIND.ME@" });
    expect(res.status).toBe(200);
    expect(res.body.items.map((u: { email: string }) => u.email)).toEqual(["find.me@search.example"]);
    const deactivated = await t.api().get(users()).query({ status: "deactivated" });
    expect(deactivated.body.items.every((u: { status: string }) => u.status === "deactivated")).toBe(true);
  });

  it("answers 404 for a user id of another tenant and for a malformed id", async () => {
    const other = uniqueSlug("users");
    await t.api().post("/api/v1/tenants").send({ slug: other, name: "Other", region: "eu" }).expect(201);
    const foreign = await t.api().post(`/api/v1/tenants/${other}/users`).send({ email: "f@example.com", name: "F", kind: "member" }).expect(201);
    expect((await t.api().get(`${users()}/${foreign.body.id}`)).status).toBe(404);
    expect((await t.api().get(`${users()}/not-a-uuid`)).status).toBe(404);
  });

  it("rolls back the user row when the audit write fails (nothing half-written)", async () => {
    const db = t.container.infra.db;
    const before = await db.user.count();
    const service = createUserService({
      db, clock: t.container.infra.clock,
      userStore: createUserStore(),
      hasher: { hash: async () => "unused" },
      revokeUserSessions: async () => 0,
      auditStore: { insert: async () => { throw new Error("audit store down"); }, insertStatement: () => { throw new Error("audit store down"); }, insertMany: async () => undefined, listNewestFirst: async () => [] },
    });
    const tenant = await db.tenant.findUniqueOrThrow({ where: { slug } });
    await expect(service.createUser(tenant, { email: "ghost@example.com", name: "Ghost", kind: "member", role: "user", ssoBypass: false }, { actor: { type: "system" } })).rejects.toThrow("audit store down");
    expect(await db.user.count()).toBe(before);
    expect(await db.user.findFirst({ where: { emailKey: "ghost@example.com" } })).toBeNull();
  });
});
