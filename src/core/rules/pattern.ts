import { compileLinear, toRe2Syntax, UnsupportedPattern, type LinearMatch, type LinearRegex } from '../linear-regex.ts';
import { readPattern } from '../pattern-tree.ts';
import { LiteralSearch, MAX_MARK } from './literal-search.ts';
import { foldChar, isApostrophe } from './normalize.ts';
import { requiredText } from './required-text.ts';
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
        if (!inClass) i += quantifierLength(chars, i);
        continue;
      }
      const len = escapeLength(chars, i);
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
          else i += quantifierLength(chars, i);
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
      i += quantifierLength(chars, i);
      continue;
    }
    out += foldChar(c);
    i += 1;
  }
  return out;
}

const reversedText = (s: string): string => Array.from(s).reverse().join('');

/** A match on the reversed text, told in the text's own terms. */
function unreversed(m: LinearMatch | null, length: number): LinearMatch | null {
  if (!m) return null;
  const groups = Object.fromEntries(Object.entries(m.groups).map(([k, v]) => [k, reversedText(v)]));
  return { text: reversedText(m.text), index: length - m.index - m.text.length, groups };
}

/** One top-level alternative of a pattern, compiled. */
interface Branch {
  /** It runs reversed on the reversed text (it needed a look ahead). */
  readonly backward: boolean;
  readonly regex: LinearRegex;
  /** Its gate in the set, open when the text holds one of the strings every match of it holds; -1: always open. */
  readonly gate: number;
}

/**
 * The alternative in the form the engines run: as written, or, when only a look ahead would do
 * (a lookahead, a `\b` before something unknown), reversed, to run on the reversed text where
 * looking ahead is looking behind. Throws UnsupportedPattern when neither way is linear.
 */
function orient(alt: string): { backward: boolean; rewritten: string } {
  try {
    const rewritten = rewritePattern(alt);
    toRe2Syntax(rewritten);
    return { backward: false, rewritten };
  } catch (err) {
    if (!(err instanceof UnsupportedPattern)) throw err;
    try {
      const rewritten = rewritePattern(reversePattern(alt));
      toRe2Syntax(rewritten);
      return { backward: true, rewritten };
    } catch {
      throw err;
    }
  }
}

/**
 * The match of an alternation `a|b|…` from the matches of its branches: the leftmost one, and of
 * those starting at one place the first branch's (what RE2 and V8 pick for the alternation itself).
 */
function leftmost(branches: readonly Branch[], text: string): LinearMatch | null {
  let best: LinearMatch | null = null;
  for (const { regex } of branches) {
    const m = regex.test(text) ? regex.exec(text) : null;
    if (m && (!best || m.index < best.index)) best = m;
  }
  return best;
}

/** What compiles a rule set's patterns (a PatternSet; a benchmark passes other engines). */
export interface PatternCompiler {
  compile(src: string): LinearRegex;
}

/**
 * Compiles the patterns of one rule set, which all run on the same texts: each top-level
 * alternative of each pattern is a branch of its own, and before any branch runs, one pass over
 * the text (Aho–Corasick) finds which of the strings the branches need occur in it; a branch
 * whose strings are all missing cannot match and does not run. That pass is made once per text
 * and shared by every pattern of the set. It is linear in the text, and so is every branch
 * (src/core/linear-regex.ts), so a pattern's time stays linear in the text.
 */
export class PatternSet implements PatternCompiler {
  /** Distinct required strings, and the gates each one opens. */
  private readonly strings = new Map<string, number>();
  private readonly gatesOf: number[][] = [];
  private gates = 0;
  private search: LiteralSearch | undefined;
  /** `openAt[gate] === scan` when the last scanned text opened it. */
  private openAt = new Int32Array(0);
  private scan = 0;
  private scanned: string | undefined;
  private readonly backtracking: boolean;

  /** `backtracking: false` runs every branch on RE2 (tests compare the engines with it). */
  constructor({ backtracking = true }: { backtracking?: boolean } = {}) {
    this.backtracking = backtracking;
  }

  /** Throws SyntaxError naming what is invalid, or what no linear-time engine can run. */
  compile(src: string): LinearRegex {
    // JavaScript checks the syntax first, so a typo gets the message admins know.
    new RegExp(src, 'u');
    const branches = topLevelAlternatives(src).map((alt) => this.branch(alt));
    const forward = branches.filter((b) => !b.backward);
    const backward = branches.filter((b) => b.backward);
    const live = (text: string, of: readonly Branch[]): Branch[] => {
      this.open(text);
      return of.filter((b) => b.gate < 0 || this.openAt[b.gate] === this.scan);
    };
    return {
      source: src,
      test(text) {
        if (live(text, forward).some((b) => b.regex.test(text))) return true;
        const behind = live(text, backward);
        if (behind.length === 0) return false;
        const reversed = reversedText(text);
        return behind.some((b) => b.regex.test(reversed));
      },
      exec(text) {
        const ahead = leftmost(live(text, forward), text);
        if (ahead) return ahead;
        const behind = live(text, backward);
        return behind.length === 0 ? null : unreversed(leftmost(behind, reversedText(text)), text.length);
      },
    };
  }

  private branch(alt: string): Branch {
    const { backward, rewritten } = orient(alt);
    const tree = readPattern(rewritten);
    const required = requiredText(tree);
    return {
      backward,
      regex: compileLinear(rewritten, { tree, backtracking: this.backtracking }),
      // A reversed branch needs its strings reversed, in the text as written.
      gate: required ? this.gate(backward ? required.map(reversedText) : required) : -1,
    };
  }

  private gate(required: readonly string[]): number {
    const gate = this.gates++;
    for (const s of required) {
      let id = this.strings.get(s);
      if (id === undefined) {
        this.strings.set(s, (id = this.strings.size));
        this.gatesOf.push([]);
      }
      this.gatesOf[id]?.push(gate);
    }
    this.search = undefined;
    return gate;
  }

  /** Scans `text` for the required strings, unless it was the text scanned last. */
  private open(text: string): void {
    if (!this.search) {
      this.search = new LiteralSearch([...this.strings.keys()]);
      this.openAt = new Int32Array(this.gates);
      this.scanned = undefined;
    }
    if (text === this.scanned) return;
    // Scans are told apart by number; before the number outgrows the marks, start them over.
    if (this.scan === MAX_MARK) {
      this.openAt.fill(0);
      this.scan = 0;
    }
    const scan = ++this.scan;
    this.search.search(text, (id) => {
      for (const gate of this.gatesOf[id] ?? []) this.openAt[gate] = scan;
    });
    this.scanned = text;
  }
}

/** One pattern on its own (a set of one). */
export function compilePattern(src: string): LinearRegex {
  return new PatternSet().compile(src);
}
