import { escapeHtml, renderMessagePage } from "../platform/http/page";

/*
 * The few pages oidc-provider renders itself (its errors, the logout confirmation, the signed-out notice), in
 * Gatehouse's look. Everything shown is escaped; the logout form is the provider's own markup.
 */

const page = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${escapeHtml(title)} · Gatehouse</title><link rel="stylesheet" href="/assets/gatehouse.css"></head>
<body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>
`;

/** Why the provider refused a request; its descriptions name the parameter at fault and never a secret. */
export function providerErrorPage(out: { error?: unknown; error_description?: unknown }): string {
  const description = typeof out.error_description === "string" ? out.error_description : "The request could not be completed.";
  const code = typeof out.error === "string" ? ` (${out.error})` : "";
  return renderMessagePage({ title: "Sign-in could not continue", message: `${description}${code}` });
}

/** RP-initiated logout asks before ending the session, so a link on another site cannot log the user out. */
export function logoutConfirmationPage(form: string, appName: string | undefined): string {
  const from = appName ? ` from ${escapeHtml(appName)} and` : "";
  return page(
    "Sign out",
    `<p>Do you want to sign out${from} from Gatehouse?</p>
${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`,
  );
}

export function signedOutPage(): string {
  return page("Signed out", "<p>You have signed out.</p>");
}

/**
 * A page that moves the browser on by itself (meta refresh, no script). After a form post on one of our pages,
 * a plain redirect chain would end at the app under that page's CSP `form-action 'self'`, which browsers enforce
 * on the redirects of a form submission; a refresh starts a new navigation instead.
 */
export function continuePage(location: string): string {
  const href = escapeHtml(location);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${href}">
<meta name="referrer" content="same-origin"><title>Signing you in · Gatehouse</title><link rel="stylesheet" href="/assets/gatehouse.css"></head>
<body><main><h1>Signing you in</h1><p><a id="continue" href="${href}">Continue</a></p></main></body></html>
`;
}
