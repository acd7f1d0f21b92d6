/**
 * Text normalization: the one form both player text and rule patterns are brought to
 * before matching, so an admin's `o'zini` meets a player's `oʻzini` or `ozini`.
 */

/** Every way players type the Uzbek apostrophe (oʻ, gʻ, tutuq belgisi). */
const APOSTROPHES = /[\u0027\u0060\u00B4\u02B9\u02BB\u02BC\u02BD\u2018\u2019\u201B\u2032]/gu;
const APOSTROPHE_CHAR = /^[\u0027\u0060\u00B4\u02B9\u02BB\u02BC\u02BD\u2018\u2019\u201B\u2032]$/u;
const INVISIBLE = /[\u00AD\u200B-\u200D\u2060\uFEFF]/gu;

/**
 * Letters folded to one spelling. `ё` is often typed as `е`; Uzbek Cyrillic `ў қ ғ ҳ`
 * are often typed as `у к г х` by players without the Uzbek keyboard layout.
 */
const LETTER_FOLDS: Readonly<Record<string, string>> = { ё: 'е', ў: 'у', қ: 'к', ғ: 'г', ҳ: 'х' };
const FOLDABLE = /[ёўқғҳ]/gu;

function foldLetters(s: string): string {
  return s.replace(FOLDABLE, (c) => LETTER_FOLDS[c] ?? c);
}

export function isApostrophe(c: string): boolean {
  return APOSTROPHE_CHAR.test(c);
}

/**
 * What matching runs on: apostrophe variants folded to `'`, NFKC, lower-case
 * (locale-independent), `ё`→`е` and Uzbek Cyrillic letters folded, whitespace collapsed.
 */
export function normalizeText(s: string): string {
  // Apostrophes first: NFKC would turn `´` into a space plus a combining accent.
  const folded = s.replace(APOSTROPHES, "'").replace(INVISIBLE, '').normalize('NFKC').toLowerCase();
  return foldLetters(folded).replace(/\s+/gu, ' ').trim();
}

/** Normalized text with apostrophes dropped: players omit them as often as they type them. */
export function matchKey(s: string): string {
  return normalizeText(s).replaceAll("'", '');
}

/** One literal pattern character, normalized like text ('' for an apostrophe). */
export function foldChar(c: string): string {
  if (isApostrophe(c)) return '';
  return foldLetters(c.normalize('NFKC').toLowerCase());
}
