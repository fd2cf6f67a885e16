import type { Response } from "express";
import { Eta } from "eta";
import { findProjectDir } from "../paths";

export type PageData = { title: string; error?: string; notice?: string; [key: string]: unknown };

/** Server-rendered pages: auto-escaped templates, never cached, never framed. */
export function createViews(viewsDir: string = findProjectDir("views")) {
  const eta = new Eta({ views: viewsDir, autoEscape: true, cache: true, autoTrim: false });
  return {
    render(res: Response, template: string, data: PageData, status = 200): void {
      // Auth pages carry one-time state (CSRF tokens, codes): no cache may keep them.
      res.set("Cache-Control", "no-store").set("Pragma", "no-cache");
      res.status(status).type("html").send(eta.render(`./${template}`, data));
    },
  };
}

export type Views = ReturnType<typeof createViews>;
