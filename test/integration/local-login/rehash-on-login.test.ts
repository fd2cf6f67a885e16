import bcrypt from "bcrypt";
import { startTestApp, uniqueSlug, type TestApp } from "../../support/harness";
import { TestBrowser } from "../../support/browser";

let before: TestApp;
let after: TestApp;
beforeAll(async () => {
  before = await startTestApp({ BCRYPT_COST: "4" });
  after = await startTestApp({ BCRYPT_COST: "5" });
});
afterAll(async () => {
  await before.close();
  await after.close();
});

describe("rehash on login", () => {
  it("upgrades a stored hash to the configured cost after a correct password, and only then", async () => {
    const slug = uniqueSlug("rehash");
    const password = "a long enough passphrase";
    await before.api().post("/api/v1/tenants").send({ slug, name: "Rehash", region: "eu" }).expect(201);
    const user = (await before.api().post(`/api/v1/tenants/${slug}/users`).send({ email: "r@rehash.example", name: "R", kind: "client", password }).expect(201)).body;
    const stored = async () => (await after.container.infra.db.user.findUniqueOrThrow({ where: { id: user.id } })).passwordHash!;
    expect(bcrypt.getRounds(await stored())).toBe(4);

    const browser = new TestBrowser(after.app);
    await browser.get("/eu/login");
    expect((await browser.post("/eu/login", { tenant: slug, email: "r@rehash.example", password: "wrong password here" })).status).toBe(401);
    expect(bcrypt.getRounds(await stored())).toBe(4);

    expect((await browser.post("/eu/login", { tenant: slug, email: "r@rehash.example", password })).status).toBe(303);
    const upgraded = await stored();
    expect(bcrypt.getRounds(upgraded)).toBe(5);
    expect(await bcrypt.compare(password, upgraded)).toBe(true);
  });
});
