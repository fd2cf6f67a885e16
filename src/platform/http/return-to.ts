/**
 * The one redirect allowlist: `return_to` may name a path of this service, or (later) a registered
 * app's redirect URI. Anything else — other hosts, scheme-relative `//x`, backslash tricks,
 * control characters — falls back to the default.
 */
export function safeReturnTo(value: unknown, options: { fallback: string; isRegisteredRedirect?: (url: string) => boolean }): string {
  if (typeof value !== "string" || value.length === 0 || value.length > 2048) return options.fallback;
  if (isLocalPath(value)) return value;
  if (options.isRegisteredRedirect?.(value)) return value;
  return options.fallback;
}

function isLocalPath(value: string): boolean {
  if (!value.startsWith("/") || value.startsWith("//") || value.startsWith("/\\")) return false;
  if (/[\u0000-\u001f\u007f\\]/.test(value)) return false;
  try {
    const parsed = new URL(value, "http://gatehouse.invalid");
    return parsed.origin === "http://gatehouse.invalid";
  } catch {
    return false;
  }
}
