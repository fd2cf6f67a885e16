/** before/after of the fields that changed, for audit events; null when nothing did. */
export function changedFields<T extends Record<string, unknown>>(before: T, after: T, ignore: string[] = ["updatedAt"]) {
  const changed = Object.keys(after).filter((key) => !ignore.includes(key) && JSON.stringify(before[key]) !== JSON.stringify(after[key]));
  if (changed.length === 0) return null;
  return {
    before: Object.fromEntries(changed.map((key) => [key, before[key]])),
    after: Object.fromEntries(changed.map((key) => [key, after[key]])),
  };
}
