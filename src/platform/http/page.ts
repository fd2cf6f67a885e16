const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => ENTITIES[ch]!);
}

/** A minimal accessible page for errors and notices; login pages use the views/ templates. */
export function renderMessagePage(page: { title: string; message: string }): string {
  const title = escapeHtml(page.title);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Gatehouse</title></head>
<body><main><h1>${title}</h1><p>${escapeHtml(page.message)}</p></main></body></html>
`;
}
