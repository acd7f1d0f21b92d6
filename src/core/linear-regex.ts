import { RE2JS } from 're2js';
import { readPattern, type PatternNode } from './pattern-tree.ts';

/**
 * Patterns from the config (rules, webhook conditions) run on text from outside, so their time
 * must be linear in the text whatever the pattern, where a backtracking engine can take minutes
 * on `(a+)+$` and a long line. This module takes a pattern written in JavaScript syntax (flags
 * `iu`), translates what RE2 spells or means differently, and refuses, naming it, what RE2 cannot
 * run in linear time: lookaheads and backreferences. Lookbehinds without captures are kept (re2js
 * runs them in linear time, on its slower engine).
 *
 * Which engine runs a pattern:
 * - V8's own (backtracking) engine when the pattern can only ever try a bounded amount from one
 *   place in the text: no `*`, `+` or `{n,}` anywhere, and at most BACKTRACKING_LIMIT steps over
 *   every way through it (see `attemptCost`). The search makes one attempt per place, so its
 *   time is at most that constant times the length of the text: linear, and V8's compiled code
 *   is many times faster than re2js. Only where both engines read the pattern alike (see
 *   PatternNode's `re2Differs`): they agree on every character class it can then contain (the
 *   tables of Node's V8 and of re2js are compared in test/unit/linear-regex.test.ts).
 * - RE2 (re2js, pure JavaScript) otherwise: its time is linear in the text whatever the pattern.
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

const knownProperties = new Map<string, boolean>();

/** RE2 knows `\p{name}` (its names are the short categories and the scripts; JavaScript knows more). */
function re2KnowsProperty(name: string): boolean {
  let known = knownProperties.get(name);
  if (known === undefined) {
    try {
      RE2JS.compile(`\\p{${name}}`);
      known = true;
    } catch {
      known = false;
    }
    knownProperties.set(name, known);
  }
  return known;
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
    if (name.includes('=') || !re2KnowsProperty(name)) throw new UnsupportedPattern(`the property ${esc} is not supported; use \\p{Script=…} or a category such as \\p{L}`);
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

/**
 * Steps one attempt may take for a pattern to run on V8's engine: about what re2js spends on one
 * character of text with a program of that size, so neither engine has a worse case.
 */
const BACKTRACKING_LIMIT = 1000;

/** How many ways a backtracking engine can go through a pattern from one place, and how many characters one way reads at most. */
interface AttemptCost {
  ways: number;
  reads: number;
}

/**
 * Work of one attempt of a backtracking engine at one place: every way through the pattern
 * (the options of an alternation add up, those of a sequence multiply, a repetition `{m,n}` tries
 * each count), each reading at most `reads` characters, lookarounds included (a lookaround is
 * decided once per way through it: it tries all of its own ways and then holds or fails). An
 * attempt never takes more than `ways × (reads + 1)` steps; `*`, `+` and `{n,}` make it unbounded.
 */
function attemptCost(node: PatternNode): AttemptCost {
  switch (node.kind) {
    case 'char':
    case 'any':
      return { ways: 1, reads: 1 };
    case 'edge':
      return { ways: 1, reads: 0 };
    case 'look': {
      const inner = attemptCost(node.item);
      return { ways: 1, reads: inner.ways * (inner.reads + 1) };
    }
    case 'named':
      return attemptCost(node.item);
    case 'seq':
      return node.items.map(attemptCost).reduce((a, b) => ({ ways: a.ways * b.ways, reads: a.reads + b.reads }), { ways: 1, reads: 0 });
    case 'alt': {
      const options = node.options.map(attemptCost);
      return { ways: options.reduce((sum, o) => sum + o.ways, 0), reads: Math.max(...options.map((o) => o.reads)) };
    }
    case 'repeat': {
      if (node.max === Infinity) return { ways: Infinity, reads: Infinity };
      const inner = attemptCost(node.item);
      let ways = 0;
      for (let k = node.min; k <= node.max && ways <= BACKTRACKING_LIMIT; k += 1) ways += inner.ways ** k;
      return { ways, reads: inner.reads * node.max };
    }
    case 'unknown':
      return { ways: Infinity, reads: Infinity };
  }
}

function hasNamedGroup(node: PatternNode): boolean {
  if (node.kind === 'named') return true;
  if (node.kind === 'look' || node.kind === 'repeat') return hasNamedGroup(node.item);
  if (node.kind === 'seq') return node.items.some(hasNamedGroup);
  return node.kind === 'alt' && node.options.some(hasNamedGroup);
}

/**
 * Somewhere in the pattern RE2 and JavaScript read the same syntax differently (see PatternNode),
 * or would capture differently: a named group inside a lookbehind captures only on V8 (RE2 keeps
 * no captures there), and one inside a repetition keeps its last value on RE2 where V8 forgets it
 * in a round that does not reach it (`(?:(?<a>x)|y){2}` on `xy`).
 */
function re2Differs(node: PatternNode): boolean {
  switch (node.kind) {
    case 'any':
    case 'edge':
      return node.re2Differs === true;
    case 'look':
      return hasNamedGroup(node.item) || re2Differs(node.item);
    case 'repeat':
      return (node.max > 1 && hasNamedGroup(node.item)) || re2Differs(node.item);
    case 'named':
      return re2Differs(node.item);
    case 'seq':
      return node.items.some(re2Differs);
    case 'alt':
      return node.options.some(re2Differs);
    default:
      return false;
  }
}

/**
 * The pattern (read as `tree`) runs on V8's engine: in linear time (see the module comment), and
 * with the matches RE2 would give it.
 */
export function runsOnV8(src: string, tree = readPattern(src)): boolean {
  if (re2Differs(tree)) return false;
  const { ways, reads } = attemptCost(tree);
  // A way costs a step even when it reads nothing (`(?:^){0,9}`).
  return ways * (reads + 1) <= BACKTRACKING_LIMIT;
}

/** A match as either engine reports it, with the named groups that took part. */
function linearMatch(m: RegExpExecArray | null): LinearMatch | null {
  if (!m) return null;
  const groups: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.groups ?? {})) if (v !== undefined) groups[k] = v;
  return { text: m[0], index: m.index, groups };
}

function onV8(src: string): LinearRegex {
  const re = new RegExp(src, 'iu');
  return { source: src, test: (text) => re.test(text), exec: (text) => linearMatch(re.exec(text)) };
}

function onRe2(src: string, re2: string): LinearRegex {
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(re2, RE2JS.CASE_INSENSITIVE | RE2JS.LOOKBEHINDS);
  } catch (err) {
    // re2js names the construct after "error parsing regexp: "; drop its echo of the whole pattern.
    const message = (err as Error).message.replace(/^error parsing regexp: /u, '').replace(/: `[\s\S]*`$/u, '');
    throw new UnsupportedPattern(message);
  }
  return { source: src, test: (text) => compiled.test(text), exec: (text) => linearMatch(compiled.exec(text) as RegExpExecArray | null) };
}

/**
 * Compiles a JavaScript-syntax pattern (case-insensitive, Unicode) for a linear-time engine.
 * `tree`: the pattern already read (readPattern); `backtracking: false` runs it on RE2 whatever it is.
 */
export function compileLinear(src: string, { tree, backtracking = true }: { tree?: PatternNode; backtracking?: boolean } = {}): LinearRegex {
  // What RE2 cannot run is refused whichever engine runs the pattern, so both accept the same.
  const re2 = toRe2Syntax(src);
  return backtracking && runsOnV8(src, tree) ? onV8(src) : onRe2(src, re2);
}
