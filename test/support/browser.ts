import { execFileSync } from "node:child_process";
import type { GatehouseApp } from "../../src/app";
import supertest from "supertest";

/** A browser stand-in: keeps cookies, reads the CSRF token from the last form it was shown. */
export class TestBrowser {
  readonly agent: supertest.Agent;
  csrf = "";

  constructor(app: GatehouseApp) {
    this.agent = supertest.agent(app);
  }

  async get(path: string): Promise<supertest.Response> {
    const res = await this.agent.get(path).set("Accept", "text/html");
    this.remember(res);
    return res;
  }

  /** Posts a form with the current CSRF token unless one is given. */
  async post(path: string, form: Record<string, string>): Promise<supertest.Response> {
    const res = await this.agent.post(path).type("form").set("Accept", "text/html").send({ _csrf: this.csrf, ...form });
    this.remember(res);
    return res;
  }

  private remember(res: supertest.Response): void {
    const match = /name="_csrf" value="([^"]+)"/.exec(res.text ?? "");
    if (match?.[1]) this.csrf = match[1];
  }
}

export function textOf(html: string, id: string): string {
  const match = new RegExp(`id="${id}"[^>]*>([^<]*)<`).exec(html);
  if (!match?.[1]) throw new Error(`no element #${id} in page`);
  return match[1].trim();
}

/** TOTP from oathtool, an implementation independent of ours. */
export function oathtoolCode(secret: string, at: Date): string {
  const now = at.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  return execFileSync("oathtool", ["--totp", "-b", "--now", now, secret], { encoding: "utf8" }).trim();
}
