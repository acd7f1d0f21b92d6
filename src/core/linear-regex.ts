import { RE2JS } from 're2js';

/**
 * Patterns from the config (rules, webhook conditions) run on text from outside, so they run on
 * RE2 (re2js, pure JavaScript): its time is linear in the text whatever the pattern, where V8's
 * backtracking engine can take minutes on `(a+)+$` and a long line. This module takes a pattern
 * written in JavaScript syntax (flags `iu`), translates what RE2 spells or means differently, and
 * refuses, naming it, what RE2 cannot run in linear time: lookaheads and backreferences.
 * Lookbehinds without captures are kept (re2js runs them in linear time, on its slower engine).
 */

export interface LinearMatch {
  /** The matched text. */
  text: string;
  index: number;
  /** Named groups that took part in the match. */
  groups: Record<string, string>;
}

export interface LinearRegex {
  readonly source: string;
  test(text: string): boolean;
  exec(text: string): LinearMatch | null;
}

/** A construct the linear engine cannot run; the message names it and says what to write instead. */
export class UnsupportedPattern extends SyntaxError {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedPattern';
  }
}

// JavaScript's `\s` is Unicode white space; RE2's is ASCII only.
const JS_SPACE = String.raw`\t\n\v\f\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}`;
// JavaScript's `.` (without the s flag) stops at every line terminator, RE2's only at \n.
const JS_DOT = String.raw`[^\n\r\x{2028}\x{2029}]`;

const LOOKAHEAD_HINT = 'a lookahead (?=…) or (?!…) cannot run in linear time: match the words themselves, or veto with `unless:`';
const BACKREF_HINT = 'a backreference (\\1, \\k<name>) cannot run in linear time';

/** Length of the escape at `i` (a backslash) in `src`. */
function escapeAt(src: string, i: number): string {
  const next = src[i + 1] ?? '';
  const upTo = (close: string): string => {
    const end = src.indexOf(close, i + 2);
    return src.slice(i, end === -1 ? src.length : end + 1);
  };
  if ((next === 'p' || next === 'P' || next === 'u' || next === 'x') && src[i + 2] === '{') return upTo('}');
  if (next === 'k' && src[i + 2] === '<') return upTo('>');
  if (next === 'u') return src.slice(i, i + 6);
  if (next === 'x') return src.slice(i, i + 4);
  if (next === 'c') return src.slice(i, i + 3);
  // A surrogate pair is one escaped character.
  const cp = src.codePointAt(i + 1) ?? 0;
  return src.slice(i, i + (cp > 0xffff ? 3 : 2));
}

/** One escape in RE2 spelling; `inClass` for the inside of `[…]`. */
function translateEscape(esc: string, inClass: boolean): string {
  const letter = esc[1] ?? '';
  if (letter === 'u' || letter === 'x') {
    const hex = esc[2] === '{' ? esc.slice(3, -1) : esc.slice(2);
    if (!/^[0-9A-Fa-f]{1,6}$/u.test(hex)) throw new UnsupportedPattern(`invalid escape ${esc}`);
    return `\\x{${hex}}`;
  }
  if (letter === 'c') return `\\x{${((esc.charCodeAt(2) || 64) % 32).toString(16)}}`;
  if (letter === '0') return '\\x{0}';
  if (/^[1-9]$/u.test(letter) || letter === 'k') throw new UnsupportedPattern(BACKREF_HINT);
  if (letter === 's') return inClass ? JS_SPACE : `[${JS_SPACE}]`;
  if (letter === 'S') return inClass ? '\\S' : `[^${JS_SPACE}]`;
  if (letter === 'p' || letter === 'P') {
    // `\p{Script=Cyrillic}` and `\p{General_Category=L}` are `\p{Cyrillic}` and `\p{L}` in RE2.
    const name = esc.slice(3, -1).replace(/^(?:Script|sc|General_Category|gc)=/u, '');
    if (name.includes('=')) throw new UnsupportedPattern(`the property ${esc} is not supported; use \\p{Script=…} or a category such as \\p{L}`);
    return `\\${letter}{${name}}`;
  }
  if (letter === '/') return '/';
  if (letter === '-') return '\\-';
  return esc;
}

/** The pattern in RE2 syntax; throws UnsupportedPattern for what has no linear-time form. */
export function toRe2Syntax(src: string): string {
  let out = '';
  let i = 0;
  // Depth of lookbehinds we are in: a group there must not capture (re2js keeps them captureless).
  const groups: boolean[] = [];
  const inLookbehind = (): boolean => groups.includes(true);
  while (i < src.length) {
    const c = src[i] ?? '';
    if (c === '\\') {
      const esc = escapeAt(src, i);
      out += translateEscape(esc, false);
      i += esc.length;
      continue;
    }
    if (c === '[') {
      // `[^]` is any character, `[]` none.
      if (src.startsWith('[^]', i)) { out += '[\\s\\S]'; i += 3; continue; }
      if (src.startsWith('[]', i)) { out += '[^\\s\\S]'; i += 2; continue; }
      let j = i + 1;
      let body = '[';
      if (src[j] === '^') { body += '^'; j += 1; }
      // A `]` first in a class is a literal in RE2 but closes an empty class in JavaScript.
      while (j < src.length && src[j] !== ']') {
        if (src[j] === '\\') {
          const esc = escapeAt(src, j);
          body += translateEscape(esc, true);
          j += esc.length;
        } else if (src[j] === '[') {
          body += '\\[';
          j += 1;
        } else {
          body += src[j];
          j += 1;
        }
      }
      out += `${body}]`;
      i = j + 1;
      continue;
    }
    if (c === '(') {
      if (src.startsWith('(?=', i) || src.startsWith('(?!', i)) throw new UnsupportedPattern(LOOKAHEAD_HINT);
      if (src.startsWith('(?<=', i) || src.startsWith('(?<!', i)) {
        groups.push(true);
        out += src.slice(i, i + 4);
        i += 4;
        continue;
      }
      groups.push(false);
      if (src.startsWith('(?', i)) {
        // `(?:`, `(?<name>`: a named group inside a lookbehind would capture.
        if (src[i + 2] === '<' && inLookbehind()) {
          const close = src.indexOf('>', i);
          out += '(?:';
          i = close === -1 ? src.length : close + 1;
          continue;
        }
        out += '(?';
        i += 2;
        continue;
      }
      out += inLookbehind() ? '(?:' : '(';
      i += 1;
      continue;
    }
    if (c === ')') {
      groups.pop();
      out += c;
      i += 1;
      continue;
    }
    out += c === '.' ? JS_DOT : c;
    i += c.length;
  }
  return out;
}

/** Compiles a JavaScript-syntax pattern (case-insensitive, Unicode) for the linear engine. */
export function compileLinear(src: string): LinearRegex {
  const re2 = toRe2Syntax(src);
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(re2, RE2JS.CASE_INSENSITIVE | RE2JS.LOOKBEHINDS);
  } catch (err) {
    // re2js names the construct after "error parsing regexp: "; drop its echo of the whole pattern.
    const message = (err as Error).message.replace(/^error parsing regexp: /u, '').replace(/: `[\s\S]*`$/u, '');
    throw new UnsupportedPattern(message);
  }
  return {
    source: src,
    test: (text) => compiled.test(text),
    exec(text) {
      const m = compiled.exec(text) as (RegExpExecArray & { groups?: Record<string, string | undefined> }) | null;
      if (!m) return null;
      const groups: Record<string, string> = {};
      for (const [k, v] of Object.entries(m.groups ?? {})) if (v !== undefined) groups[k] = v;
      return { text: m[0], index: m.index, groups };
    },
  };
}
