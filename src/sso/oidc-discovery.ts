import { AppError } from "../platform/errors";

const MAX_DOCUMENT_BYTES = 512 * 1024;

export type DiscoveryOptions = { timeoutMs: number; /** plain http issuers, for development and tests only */ allowHttp: boolean };
export type DiscoveryDocument = { issuer: string; authorization_endpoint: string; token_endpoint: string; jwks_uri: string };

const failed = (message: string, cause?: unknown) =>
  new AppError("oidc_discovery_failed", `issuer: ${message}`, { errors: [{ path: "issuer", message }], cause });

/** Fetches `{issuer}/.well-known/openid-configuration` and checks it belongs to exactly this issuer. */
export async function discoverIssuer(issuer: string, options: DiscoveryOptions): Promise<DiscoveryDocument> {
  checkIssuerUrl(issuer, options.allowHttp);
  const url = `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
  let response: Response;
  try {
    // No redirects: the document must come from the issuer itself.
    response = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs), redirect: "error", headers: { accept: "application/json" } });
  } catch (error) {
    const timedOut = (error as Error).name === "TimeoutError";
    throw failed(timedOut ? `${url} did not answer within ${options.timeoutMs} ms` : `${url} could not be fetched`, error);
  }
  if (!response.ok) throw failed(`${url} answered ${response.status}`);
  const document = parseDocument(await readCapped(response, url));
  // OpenID Connect Discovery 1.0 §4.3: the issuer in the document must equal the configured one exactly.
  if (document.issuer !== issuer) throw failed(`the discovery document names issuer "${String(document.issuer)}", not "${issuer}"`);
  for (const field of ["authorization_endpoint", "token_endpoint", "jwks_uri"] as const) {
    if (typeof document[field] !== "string" || !document[field]) throw failed(`the discovery document has no ${field}`);
  }
  return document as DiscoveryDocument;
}

function checkIssuerUrl(issuer: string, allowHttp: boolean): void {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw failed("not a URL");
  }
  if (url.protocol !== "https:" && !(allowHttp && url.protocol === "http:")) throw failed("must be an https URL");
  if (url.search || url.hash) throw failed("must not have a query or fragment");
}

async function readCapped(response: Response, url: string): Promise<string> {
  const text = await response.text();
  if (Buffer.byteLength(text) > MAX_DOCUMENT_BYTES) throw failed(`${url} answered more than ${MAX_DOCUMENT_BYTES} bytes`);
  return text;
}

function parseDocument(text: string): Partial<Record<keyof DiscoveryDocument, unknown>> {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw failed("the discovery document is not a JSON object");
}
