// The forward-auth answer fails closed whatever goes wrong inside it: a proxy must never see a 5xx (which
// some treat as "let it through") nor identity headers on a refusal.
import supertest from "supertest";
import { createForwardAuth } from "../../../src/sessions/forward-auth";
import type { Session } from "../../../src/sessions/session";
import type { SessionCheck, Verdict } from "../../../src/sessions/session-check";

const silent = { error: jest.fn() } as unknown as Parameters<typeof createForwardAuth>[0]["logger"];

function appWith(check: SessionCheck) {
  const forwardAuth = createForwardAuth({ check, logger: silent });
  return (req: Parameters<typeof forwardAuth>[0], res: Parameters<typeof forwardAuth>[1]) => {
    if (!forwardAuth(req, res)) res.writeHead(418).end();
  };
}

const session = { userId: "0190c5d4-7f3a-7b2c-9d1e-2f3a4b5c6d7e" } as Session;

it("answers 401 when the check itself throws", async () => {
  const res = await supertest(appWith(() => Promise.reject(new Error("boom")))).get("/authz");
  expect(res.status).toBe(401);
  expect(res.headers["x-auth-user-id"]).toBeUndefined();
});

it("answers 401, without the identity headers already set, when an identity cannot be written as a header", async () => {
  const verdict: Verdict = { ok: true, session, identity: { email: "bad\nheader@x.example", tenantSlug: "acme" } };
  const res = await supertest(appWith(async () => verdict)).get("/authz");
  expect(res.status).toBe(401);
  expect(res.headers["x-auth-user-id"]).toBeUndefined();
  expect(res.headers["x-auth-email"]).toBeUndefined();
});

it("leaves every other request to the app", async () => {
  const app = appWith(async () => ({ ok: true, session, identity: { email: "a@x.example", tenantSlug: "acme" } }));
  for (const path of ["/authzz", "/authz/more", "/login?next=/authz", "/"]) expect((await supertest(app).get(path)).status).toBe(418);
  expect((await supertest(app).delete("/authz")).status).toBe(418);
  expect((await supertest(app).get("/authz")).status).toBe(200);
});
