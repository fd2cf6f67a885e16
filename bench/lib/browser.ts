import { assertLocal } from "./local-services";

export type PageResponse = { status: number; location: string | null; body: string };

/**
 * A browser as far as Gatehouse's form flows care: a cookie jar, redirects not followed, and the CSRF
 * token of the forms it was served. Cookie names are taken as set, so the `__Host-` prefix that an https
 * PUBLIC_URL adds needs no special case.
 */
export function createBenchBrowser(baseUrl: string) {
  const jar = new Map<string, string>();

  const cookieHeader = (): string => [...jar].map(([name, value]) => `${name}=${value}`).join("; ");

  function keepCookies(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = /;\s*max-age=0/i.test(line) || /;\s*expires=Thu, 01 Jan 1970/i.test(line);
      if (expired || value === "") jar.delete(name);
      else jar.set(name, value);
    }
  }

  async function send(method: "GET" | "POST", path: string, form?: Record<string, string>): Promise<PageResponse> {
    const url = new URL(path, baseUrl).toString();
    assertLocal(url, "a browser flow");
    const headers: Record<string, string> = { cookie: cookieHeader() };
    if (form) headers["content-type"] = "application/x-www-form-urlencoded";
    const response = await fetch(url, { method, headers, body: form ? new URLSearchParams(form).toString() : undefined, redirect: "manual" });
    keepCookies(response);
    return { status: response.status, location: response.headers.get("location"), body: await response.text() };
  }

  return {
    get: (path: string) => send("GET", path),
    postForm: (path: string, form: Record<string, string>) => send("POST", path, form),
    cookieHeader,
    /** The value of the cookie whose name ends with `suffix` (e.g. "gh_session"), if the browser holds one. */
    cookie: (suffix: string): string | undefined => [...jar].find(([name]) => name.endsWith(suffix))?.[1],
  };
}

export type BenchBrowser = ReturnType<typeof createBenchBrowser>;

/** The hidden `_csrf` field of a form page. */
export function csrfTokenOf(page: PageResponse): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
  if (!token) throw new Error(`no _csrf field in the page (status ${page.status})`);
  return token;
}

/**
 * Password, then "set up two-step verification later" (the tenant must not require MFA): the cookie
 * header of a signed-in browser.
 */
export async function signInSkippingMfa(
  context: { gatehouseUrl: string },
  login: { region: string; tenant: string; email: string; password: string },
): Promise<string> {
  const { region, tenant, email, password } = login;
  const browser = createBenchBrowser(context.gatehouseUrl);
  const _csrf = csrfTokenOf(await browser.get(`/${region}/login`));
  const step = await browser.postForm(`/${region}/login`, { _csrf, tenant, email, password });
  if (step.status !== 303 || step.location !== `/${region}/mfa/setup`) throw new Error(`signing in: expected 303 to the MFA setup, got ${step.status} ${step.location}`);
  const skipped = await browser.postForm(`/${region}/mfa/setup/skip`, { _csrf });
  if (skipped.status !== 303 || !browser.cookie("gh_session")) throw new Error(`skipping MFA setup: expected 303 and a session, got ${skipped.status}`);
  return browser.cookieHeader();
}
