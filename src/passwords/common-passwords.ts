/**
 * The common-password blocklist (NIST SP 800-63B 3.1.1.2: refuse "commonly-used, expected" values).
 *
 * Source: npm package `@zxcvbn-ts/language-common` (MIT, © Dan Wheeler and Dropbox, Inc.; © zxcvbn-ts),
 * export `dictionary["passwords-common"]`: about 49,000 passwords from Mark Burnett's ten-million-password
 * (Xato) corpus that occur more than ten times, most frequent first, already lower-case and ASCII only.
 * Its build drops entries that zxcvbn finds cheaper as a pattern (repeats, sequences, dates), so a few
 * pattern passwords are missing here; the breach check catches those.
 */
import type * as LanguageCommon from "@zxcvbn-ts/language-common";

/** Where the list comes from, for the README and start-up logs. */
export const COMMON_PASSWORDS_SOURCE = "@zxcvbn-ts/language-common dictionary.passwords-common (Xato 10M corpus, MIT)";

let cached: ReadonlySet<string> | undefined;

/** The blocklist, lower-case; read and decompressed once, on first use (~80 ms, kept out of start-up). */
export function loadCommonPasswords(): ReadonlySet<string> {
  if (cached) return cached;
  // A require on first use rather than an import: the package decompresses its lists as it loads.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { dictionary } = require("@zxcvbn-ts/language-common") as typeof LanguageCommon;
  cached = new Set(dictionary["passwords-common"].map((entry) => entry.normalize("NFKC").toLowerCase()));
  return cached;
}

/** How many distinct entries the blocklist holds. */
export function commonPasswordCount(): number {
  return loadCommonPasswords().size;
}
