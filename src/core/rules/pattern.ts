import { compileLinear, toRe2Syntax, UnsupportedPattern, type LinearMatch, type LinearRegex } from '../linear-regex.ts';
import { foldChar, isApostrophe } from './normalize.ts';
import { boundaries, escapeLength, quantifierLength, reversePattern, topLevelAlternatives, type Boundary } from './word-sides.ts';

/**
 * Compiles an admin's regular expression so it runs on `matchKey` text, in linear time: literal
 * characters are normalized like the text, apostrophes (and any quantifier on them) are dropped,
 * and `\w` `\W` `\b` `\B` become Unicode-aware (JavaScript's and RE2's own only know ASCII
 * letters, so `\bвывод` or `постав\w*те` would never match). Case never matters.
 */

const WORD_CHARS = '\\p{L}\\p{N}\\p{M}_';
const WORD = `[${WORD_CHARS}]`;
const BOUNDARY = `(?:(?<=${WORD})(?!${WORD})|(?<!${WORD})(?=${WORD}))`;
const NON_BOUNDARY = `(?:(?<=${WORD})(?=${WORD})|(?<!${WORD})(?!${WORD}))`;
const NOT_WORD = `[^${WORD_CHARS}]`;
const NEVER = '[^\\s\\S]';

/**
 * A `\b` (or, `negate`d, a `\B`) in the linear engine's terms: the pattern must decide one of the
 * two characters around it; the other is checked by a lookbehind, or consumed where the boundary
 * is the edge of the match (which changes where the match starts or ends, never whether it exists).
 */
function boundaryForm(b: Boundary, negate: boolean, name: string, where: string): string {
  if (b.prev !== undefined && b.next !== undefined) return (b.prev !== b.next) !== negate ? '' : NEVER;
  if (b.next !== undefined) {
    const prevWord = (b.next === 'non') !== negate;
    if (b.atStart) return prevWord ? WORD : `(?:^|${NOT_WORD})`;
    return prevWord ? `(?<=${WORD})` : `(?<!${WORD})`;
  }
  if (b.prev !== undefined && b.atEnd) {
    const nextWord = (b.prev === 'non') !== negate;
    return nextWord ? WORD : `(?:${NOT_WORD}|$)`;
  }
  throw new UnsupportedPattern(
    b.prev !== undefined
      ? `${name} ${where}: what follows is not a letter or a space, so it needs a look at the next character (a lookahead), which cannot run in linear time; put ${name} where a letter or a space follows it, or at the end of an alternative`
      : `${name} ${where}: neither side is a letter or a space in the pattern, which cannot run in linear time; write it next to a letter (${name}word, word${name})`,
  );
}

/** With `narrow: false` every `\b` and `\B` keeps the general four-lookaround form of JavaScript (the reference the tests compare with). */
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
  const around = narrow ? boundaries(chars) : undefined;
  while (i < chars.length) {
    const c = at(i);
    if (c === '\\') {
      const next = at(i + 1);
      if (!inClass && (next === 'b' || next === 'B')) {
        const b = around?.get(i);
        const where = i === 0 ? 'at the start' : `after "${chars.slice(Math.max(0, i - 16), i).join('')}"`;
        out += b ? boundaryForm(b, next === 'B', `\\${next}`, where) : next === 'b' ? BOUNDARY : NON_BOUNDARY;
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

/** Throws UnsupportedPattern when an alternative has no linear-time form in this direction. */
function checkLinear(src: string): void {
  toRe2Syntax(rewritePattern(src));
}

const reversedText = (s: string): string => Array.from(s).reverse().join('');

/** A match on the reversed text, told in the text's own terms. */
function unreversed(m: LinearMatch | null, length: number): LinearMatch | null {
  if (!m) return null;
  const groups = Object.fromEntries(Object.entries(m.groups).map(([k, v]) => [k, reversedText(v)]));
  return { text: reversedText(m.text), index: length - m.index - m.text.length, groups };
}

/**
 * Throws SyntaxError naming what is invalid, or what the linear engine cannot run. Each top-level
 * alternative runs on the text, or, when only a look ahead would do (a lookahead, a `\b` before
 * something unknown), reversed on the reversed text, where looking ahead is looking behind. An
 * alternative that needs both ways is refused.
 */
export function compilePattern(src: string): LinearRegex {
  // JavaScript checks the syntax first, so a typo gets the message admins know.
  new RegExp(src, 'u');
  const forward: string[] = [];
  const backward: string[] = [];
  for (const alt of topLevelAlternatives(src)) {
    try {
      checkLinear(alt);
      forward.push(alt);
    } catch (err) {
      if (!(err instanceof UnsupportedPattern)) throw err;
      try {
        checkLinear(reversePattern(alt));
      } catch {
        throw err;
      }
      backward.push(alt);
    }
  }
  const ahead = forward.length > 0 ? compileLinear(rewritePattern(forward.join('|'))) : undefined;
  const behind = backward.length > 0 ? compileLinear(rewritePattern(reversePattern(backward.join('|')))) : undefined;
  if (!behind && ahead) return { ...ahead, source: src };
  return {
    source: src,
    test: (text) => (ahead?.test(text) ?? false) || (behind?.test(reversedText(text)) ?? false),
    exec: (text) => ahead?.exec(text) ?? unreversed(behind?.exec(reversedText(text)) ?? null, text.length),
  };
}
