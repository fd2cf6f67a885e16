import express from "express";
import request from "supertest";
import { clearCookie, cookieNames, cookieOptions, readCookie, setCookie } from "../../../src/platform/http/cookies";

describe("cookieNames", () => {
  it("uses the __Host- prefix on https", () => {
    expect(cookieNames(true)).toEqual({ session: "__Host-gh_session", browser: "__Host-gh_browser", pending: "__Host-gh_pending" });
  });

  it("uses plain names on http, where browsers would refuse __Host- cookies", () => {
    expect(cookieNames(false)).toEqual({ session: "gh_session", browser: "gh_browser", pending: "gh_pending" });
  });
});

describe("cookieOptions", () => {
  it("is HttpOnly, SameSite=Lax, Path=/ and Secure on https", () => {
    expect(cookieOptions(true)).toEqual({ httpOnly: true, sameSite: "lax", path: "/", secure: true });
  });

  it("is the same without Secure on http", () => {
    expect(cookieOptions(false)).toEqual({ httpOnly: true, sameSite: "lax", path: "/", secure: false });
  });

  it("never sets a Domain (a __Host- cookie must not have one) and adds maxAge only when asked", () => {
    expect(cookieOptions(true, 5_000)).toEqual({ httpOnly: true, sameSite: "lax", path: "/", secure: true, maxAge: 5_000 });
    expect(cookieOptions(true)).not.toHaveProperty("domain");
    expect(cookieOptions(true)).not.toHaveProperty("maxAge");
  });
});

describe("Set-Cookie headers as a browser receives them", () => {
  function app(secure: boolean) {
    const names = cookieNames(secure);
    const server = express();
    server.get("/set", (_req, res) => {
      setCookie(res, names.session, "tok_en-1", { secure });
      setCookie(res, names.pending, "pending", { secure, maxAgeMs: 300_000 });
      res.end();
    });
    server.get("/clear", (_req, res) => {
      clearCookie(res, names.session, secure);
      res.end();
    });
    server.get("/read", (req, res) => {
      res.json({ session: readCookie(req, names.session) ?? null });
    });
    return server;
  }

  it("on https: __Host- names with Secure, HttpOnly, SameSite=Lax, Path=/", async () => {
    const res = await request(app(true)).get("/set");
    const [session, pending] = res.headers["set-cookie"] as unknown as string[];
    expect(session).toBe("__Host-gh_session=tok_en-1; Path=/; HttpOnly; Secure; SameSite=Lax");
    expect(pending).toMatch(/^__Host-gh_pending=pending; Max-Age=300; Path=\/; Expires=.+; HttpOnly; Secure; SameSite=Lax$/);
  });

  it("on http: plain names, no Secure", async () => {
    const res = await request(app(false)).get("/set");
    const [session] = res.headers["set-cookie"] as unknown as string[];
    expect(session).toBe("gh_session=tok_en-1; Path=/; HttpOnly; SameSite=Lax");
  });

  it("clearing uses the same attributes, so the browser drops the cookie", async () => {
    const res = await request(app(true)).get("/clear");
    const [cleared] = res.headers["set-cookie"] as unknown as string[];
    expect(cleared).toMatch(/^__Host-gh_session=; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax$/);
  });

  it("reads the named cookie and nothing that merely resembles it", async () => {
    const read = (cookie: string) => request(app(true)).get("/read").set("Cookie", cookie);
    expect((await read("a=1; __Host-gh_session=abc; b=2")).body.session).toBe("abc");
    expect((await read("gh_session=abc")).body.session).toBeNull();
    expect((await read("x__Host-gh_session=abc")).body.session).toBeNull();
    expect((await read("__Host-gh_session=%E0%A4%A")).body.session).toBeNull();
  });
});
