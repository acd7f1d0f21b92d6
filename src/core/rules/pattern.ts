import { foldChar, isApostrophe } from './normalize.ts';
import { boundarySides, escapeLength, quantifierLength } from './word-sides.ts';

/**
 * Compiles an admin's regular expression so it runs on `matchKey` text: literal characters
 * are normalized like the text, apostrophes (and any quantifier on them) are dropped, and
 * `\w` `\W` `\b` `\B` become Unicode-aware (JavaScript's own only know ASCII letters, so
 * `\bвывод` or `постав\w*те` would never match). Flags are always `iu`.
 */

const WORD_CHARS = '\\p{L}\\p{N}\\p{M}_';
const WORD = `[${WORD_CHARS}]`;
const BOUNDARY = `(?:(?<=${WORD})(?!${WORD})|(?<!${WORD})(?=${WORD}))`;
const NON_BOUNDARY = `(?:(?<=${WORD})(?=${WORD})|(?<!${WORD})(?!${WORD}))`;
// The same assertions when the pattern itself puts a word character on one side of them.
const BOUNDARY_BEFORE_WORD = `(?<!${WORD})`;
const BOUNDARY_AFTER_WORD = `(?!${WORD})`;
const NON_BOUNDARY_BEFORE_WORD = `(?<=${WORD})`;
const NON_BOUNDARY_AFTER_WORD = `(?=${WORD})`;

/** With `narrow: false` every `\b` and `\B` keeps the general four-lookaround form (to compare against). */
export function rewritePattern(src: string, { narrow = true }: { narrow?: boolean } = {}): string {
  // Work on code points so astral characters are never split.
  const chars = Array.from(src);
  let out = '';
  let inClass = false;
  let classStart = 0;
  let classNegated = false;
  let classEmpty = true;
  let i = 0;
  const at = (k: number): string => chars[k] ?? '';
  const rest = (k: number): string => chars.slice(k).join('');
  const sides = narrow ? boundarySides(chars) : new Map<number, undefined>();
  while (i < chars.length) {
    const c = at(i);
    if (c === '\\') {
      const next = at(i + 1);
      if (!inClass && next === 'b') {
        const side = sides.get(i);
        out += side === 'after' ? BOUNDARY_BEFORE_WORD : side === 'before' ? BOUNDARY_AFTER_WORD : BOUNDARY;
        i += 2;
        continue;
      }
      if (!inClass && next === 'B') {
        const side = sides.get(i);
        out += side === 'after' ? NON_BOUNDARY_BEFORE_WORD : side === 'before' ? NON_BOUNDARY_AFTER_WORD : NON_BOUNDARY;
        i += 2;
        continue;
      }
      if (next === 'w') { out += inClass ? WORD_CHARS : WORD; i += 2; classEmpty = false; continue; }
      if (next === 'W' && !inClass) { out += `[^${WORD_CHARS}]`; i += 2; continue; }
      if (isApostrophe(next)) {
        i += 2;
        if (!inClass) i += quantifierLength(rest(i));
        continue;
      }
      const len = escapeLength(rest(i));
      out += chars.slice(i, i + len).join('');
      i += len;
      classEmpty = false;
      continue;
    }
    if (inClass) {
      if (c === ']') {
        inClass = false;
        i += 1;
        if (classEmpty) {
          // The class held only apostrophes: they never occur in matched text.
          out = out.slice(0, classStart);
          if (classNegated) out += '[^]';
          else i += quantifierLength(rest(i));
          continue;
        }
        out += ']';
        continue;
      }
      if (isApostrophe(c)) { i += 1; continue; }
      out += foldChar(c);
      classEmpty = false;
      i += 1;
      continue;
    }
    if (c === '[') {
      inClass = true;
      classStart = out.length;
      classEmpty = true;
      classNegated = at(i + 1) === '^';
      out += classNegated ? '[^' : '[';
      i += classNegated ? 2 : 1;
      continue;
    }
    if (c === '(' && at(i + 1) === '?' && at(i + 2) === '<' && at(i + 3) !== '=' && at(i + 3) !== '!') {
      // A named group: its name is an identifier, not text to normalize.
      const close = chars.indexOf('>', i);
      const stop = close === -1 ? chars.length : close + 1;
      out += chars.slice(i, stop).join('');
      i = stop;
      continue;
    }
    if (isApostrophe(c)) {
      i += 1;
      i += quantifierLength(rest(i));
      continue;
    }
    out += foldChar(c);
    i += 1;
  }
  return out;
}

/** Throws SyntaxError (with the engine's message) on an invalid pattern. */
export function compilePattern(src: string): RegExp {
  return new RegExp(rewritePattern(src), 'iu');
}
