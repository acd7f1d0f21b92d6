import { foldChar, isApostrophe } from './normalize.ts';

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

/** Length of the quantifier (`?`, `*`, `+`, `{n,m}`, optionally lazy) `src` starts with, else 0. */
function quantifierLength(src: string): number {
  const m = /^(?:[?*+]|\{\d+(?:,\d*)?\})\??/u.exec(src);
  return m ? m[0].length : 0;
}

/** Length of the escape sequence `src` starts with (a backslash), copied verbatim. */
function escapeLength(src: string): number {
  const next = src[1];
  const close = (ch: string): number => {
    const end = src.indexOf(ch, 2);
    return end === -1 ? src.length : end + 1;
  };
  if ((next === 'p' || next === 'P' || next === 'u') && src[2] === '{') return close('}');
  if (next === 'k' && src[2] === '<') return close('>');
  if (next === 'u') return 6;
  if (next === 'x') return 4;
  if (next === 'c') return 3;
  return 2;
}

export function rewritePattern(src: string): string {
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
  while (i < chars.length) {
    const c = at(i);
    if (c === '\\') {
      const next = at(i + 1);
      if (!inClass && next === 'b') { out += BOUNDARY; i += 2; continue; }
      if (!inClass && next === 'B') { out += NON_BOUNDARY; i += 2; continue; }
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
