import { AppError } from "./errors";

/** Cursors are opaque to clients: base64url of the last item's sort key. */
export function encodeCursor(key: string): string {
  return Buffer.from(key, "utf8").toString("base64url");
}

export function decodeCursor(cursor: string | undefined, pattern: RegExp): string | undefined {
  if (cursor === undefined) return undefined;
  const key = Buffer.from(cursor, "base64url").toString("utf8");
  if (!pattern.test(key)) throw new AppError("validation_failed", "cursor: not a cursor this API issued", { errors: [{ path: "cursor", message: "invalid cursor" }] });
  return key;
}

export type Page<T> = { items: T[]; nextCursor: string | null };

/** Fetch limit + 1 rows; the extra row only tells whether another page exists. */
export function toPage<Row, T>(rows: Row[], limit: number, view: (row: Row) => T, keyOf: (row: Row) => string): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items: items.map(view), nextCursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null };
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
