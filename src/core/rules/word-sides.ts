import { foldChar, isApostrophe } from './normalize.ts';

/**
 * What an admin's pattern itself says around each `\b` and `\B`: which side is known to hold a
 * word character (or a non-word one), and whether the boundary sits at an edge of the match.
 *
 * The linear engine (RE2) knows only an ASCII `\b` and cannot look ahead. A Unicode boundary is a
 * question about two characters; when the pattern decides one of them (`\bвывод`: the next one is
 * `в`), only the other is left to check, and that one can be checked by a lookbehind (the previous
 * character) or, at the edge of the match, by consuming it (`вывод\b` at the end: a non-word
 * character or the end of the text follows). This module reads a pattern just far enough to tell:
 * literal characters, escapes, classes, groups, alternatives and quantifiers.
 */

type Token =
  | { kind: 'lit'; word: boolean }
  | { kind: 'esc'; letter: string }
  | { kind: 'apos' }
  | { kind: 'class'; side: Side }
  | { kind: 'open'; look: boolean; capture: boolean; close: number; parent: number }
  | { kind: 'close'; open: number }
  | { kind: 'alt'; parent: number }
  | { kind: 'quant'; optional: boolean; repeats: boolean }
  | { kind: 'other' };

const WORD_CHAR = /^[\p{L}\p{N}\p{M}_]$/u;
/** Enough characters to hold any group opener (`(?<name>`, `(?<=`). */
const OPENER_MAX = 64;

/** The code points of `chars` from `i` up to and including the first `close` (or the end). */
function through(chars: readonly string[], i: number, close: string): number {
  const end = chars.indexOf(close, i);
  return end === -1 ? chars.length - i : end + 1 - i;
}

/** Length of the quantifier (`?`, `*`, `+`, `{n,m}`, optionally lazy) at `chars[i]`, else 0. */
export function quantifierLength(chars: readonly string[], i: number): number {
  const c = chars[i];
  if (c !== '?' && c !== '*' && c !== '+' && c !== '{') return 0;
  const head = chars.slice(i, i + (c === '{' ? through(chars, i, '}') + 1 : 2)).join('');
  const m = /^(?:[?*+]|\{\d+(?:,\d*)?\})\??/u.exec(head);
  return m ? m[0].length : 0;
}

/** Length of the escape sequence at `chars[i]` (a backslash). */
export function escapeLength(chars: readonly string[], i: number): number {
  const next = chars[i + 1];
  if ((next === 'p' || next === 'P' || next === 'u') && chars[i + 2] === '{') return through(chars, i, '}');
  if (next === 'k' && chars[i + 2] === '<') return through(chars, i, '>');
  if (next === 'u') return 6;
  if (next === 'x') return 4;
  if (next === 'c') return 3;
  return 2;
}

function classLength(chars: readonly string[], start: number): number {
  let i = start + 1;
  if (chars[i] === '^') i += 1;
  while (i < chars.length && chars[i] !== ']') i += chars[i] === '\\' ? escapeLength(chars, i) : 1;
  return Math.min(i + 1, chars.length) - start;
}

/**
 * A class all of whose members are word characters (`[аеуыо]`, `[a-z\d]`), or all not (`[ ,.]`);
 * apostrophes in it are dropped like everywhere else. Negated or mixed classes decide nothing.
 */
function classSide(chars: readonly string[]): Side {
  if (chars[1] === '^' || chars.at(-1) !== ']') return undefined;
  const sides = new Set<Side>();
  for (let i = 1; i < chars.length - 1; i += 1) {
    const c = chars[i] ?? '';
    if (c === '\\') {
      const letter = chars[i + 1] ?? '';
      sides.add(letter === 'w' || letter === 'd' ? 'word' : letter === 's' || letter === 'W' ? 'non' : /^[^\p{L}\p{N}]$/u.test(letter) ? 'non' : undefined);
      i += 1;
    } else if (c === '-' && i > 1 && i < chars.length - 2) {
      // A range: both ends were counted; letters between letters, as in every alphabet here.
      continue;
    } else if (!isApostrophe(c)) sides.add(WORD_CHAR.test(foldChar(c)) ? 'word' : 'non');
  }
  return sides.size === 1 ? [...sides][0] : undefined;
}

/** Tokens of a pattern (given as code points), and the token that starts at each source index. */
function tokenize(chars: readonly string[]): { tokens: Token[]; at: Map<number, number> } {
  const tokens: Token[] = [];
  const at = new Map<number, number>();
  const opens: number[] = [];
  let i = 0;
  const push = (token: Token, length: number): void => {
    at.set(i, tokens.length);
    tokens.push(token);
    i += length;
  };
  while (i < chars.length) {
    const c = chars[i] ?? '';
    if (c === '\\') {
      const next = chars[i + 1] ?? '';
      push(isApostrophe(next) ? { kind: 'apos' } : { kind: 'esc', letter: next }, escapeLength(chars, i));
    } else if (c === '[') {
      const length = classLength(chars, i);
      push({ kind: 'class', side: classSide(chars.slice(i, i + length)) }, length);
    } else if (c === '(') {
      const head = chars.slice(i, i + OPENER_MAX).join('');
      const look = /^\(\?<?[=!]/u.test(head);
      const named = /^\(\?<[^=!]/u.exec(head) ? chars.indexOf('>', i) + 1 - i : 0;
      const length = look ? (head[2] === '<' ? 4 : 3) : head.startsWith('(?:') ? 3 : named > 0 ? named : 1;
      opens.push(tokens.length);
      push({ kind: 'open', look, capture: named > 0, close: -1, parent: opens.at(-2) ?? -1 }, length);
    } else if (c === ')') {
      const open = opens.pop() ?? -1;
      const opener = tokens[open];
      if (opener?.kind === 'open') opener.close = tokens.length;
      push({ kind: 'close', open }, 1);
    } else if (c === '|') {
      push({ kind: 'alt', parent: opens.at(-1) ?? -1 }, 1);
    } else if (quantifierLength(chars, i) > 0) {
      const length = quantifierLength(chars, i);
      const q = chars.slice(i, i + length).join('');
      push({ kind: 'quant', optional: c === '?' || c === '*' || /^\{0[,}]/u.test(q), repeats: !/^(?:\?|\{[01](?:,[01])?\})\??$/u.test(q) }, length);
    } else if (c === '.' || c === '^' || c === '$') {
      push({ kind: 'other' }, 1);
    } else if (isApostrophe(c)) {
      push({ kind: 'apos' }, 1);
    } else {
      push({ kind: 'lit', word: WORD_CHAR.test(foldChar(c)) }, 1);
    }
  }
  return { tokens, at };
}

/** Token indices where each top-level alternative of the group opened at `open` starts. */
function alternativeStarts(tokens: readonly Token[], open: number): number[] {
  const starts = [open + 1];
  const opener = tokens[open];
  const end = opener?.kind === 'open' ? opener.close : -1;
  for (let k = open + 1; k < end; k += 1) {
    const t = tokens[k];
    if (t?.kind === 'open') k = t.close;
    else if (t?.kind === 'alt') starts.push(k + 1);
  }
  return starts;
}

/** A character known to be a word character, one known not to be, or either. */
export type Side = 'word' | 'non' | undefined;

const agree = (sides: readonly Side[]): Side => (sides.every((s) => s === sides[0]) ? sides[0] : undefined);

function atomSide(t: Token | undefined): Side {
  if (t?.kind === 'lit') return t.word ? 'word' : 'non';
  if (t?.kind === 'class') return t.side;
  if (t?.kind !== 'esc') return undefined;
  if (t.letter === 'w' || t.letter === 'd') return 'word';
  if ('sWntrfv'.includes(t.letter)) return 'non';
  // An escaped punctuation character (`\-`, `\.`) is that character.
  return /^[^\p{L}\p{N}]$/u.test(t.letter) ? 'non' : undefined;
}

/** What every way through the tokens from `k` on begins by matching. */
function firstSide(tokens: readonly Token[], k: number): Side {
  // Apostrophes are dropped from the pattern, with their quantifiers.
  while (tokens[k]?.kind === 'apos') k += tokens[k + 1]?.kind === 'quant' ? 2 : 1;
  const t = tokens[k];
  let side: Side;
  let last = k;
  if (t?.kind === 'lit' || t?.kind === 'esc' || t?.kind === 'class') side = atomSide(t);
  else if (t?.kind === 'open' && !t.look && t.close > k) {
    side = agree(alternativeStarts(tokens, k).map((s) => firstSide(tokens, s)));
    last = t.close;
  } else return undefined;
  const q = tokens[last + 1];
  // An optional atom may be skipped: then what follows it decides too.
  if (side !== undefined && q?.kind === 'quant' && q.optional) return agree([side, firstSide(tokens, last + 2)]);
  return side;
}

/** What every way through the tokens up to `k` ends by matching. */
function lastSide(tokens: readonly Token[], k: number): Side {
  for (;;) {
    if (tokens[k]?.kind === 'apos') k -= 1;
    else if (tokens[k]?.kind === 'quant' && tokens[k - 1]?.kind === 'apos') k -= 2;
    else break;
  }
  const q = tokens[k];
  const optional = q?.kind === 'quant' && q.optional;
  if (q?.kind === 'quant') k -= 1;
  const t = tokens[k];
  let side: Side;
  let first = k;
  if (t?.kind === 'lit' || t?.kind === 'esc' || t?.kind === 'class') side = atomSide(t);
  else if (t?.kind === 'close') {
    const opener = tokens[t.open];
    if (opener?.kind !== 'open' || opener.look) return undefined;
    const starts = alternativeStarts(tokens, t.open);
    const ends = [...starts.slice(1).map((s) => s - 2), k - 1];
    side = agree(ends.map((e) => lastSide(tokens, e)));
    first = t.open;
  } else return undefined;
  // An optional atom may be skipped: then what comes before it decides too.
  if (side !== undefined && optional) return agree([side, lastSide(tokens, first - 1)]);
  return side;
}

/**
 * Where a walk out of `group` (left at one of its edges) goes on: 'edge' past the pattern's own
 * edge, 'stop' where it must not go on. A consumed character must not land in a named group
 * (templates read it) nor in a repetition (the next round would meet it).
 */
function enclosing(tokens: readonly Token[], group: number): 'edge' | 'stop' | number {
  if (group === -1) return 'edge';
  const g = tokens[group];
  if (g?.kind !== 'open' || g.look || g.capture) return 'stop';
  const q = tokens[g.close + 1];
  return q?.kind === 'quant' && q.repeats ? 'stop' : group;
}

/** Nothing is matched before token `k` in any match that reaches it. */
function atStart(tokens: readonly Token[], k: number): boolean {
  for (let j = k - 1; ; ) {
    if (j < 0) return true;
    const t = tokens[j];
    if (t?.kind === 'apos') { j -= 1; continue; }
    if (t?.kind === 'quant' && tokens[j - 1]?.kind === 'apos') { j -= 2; continue; }
    const out = t?.kind === 'open' ? enclosing(tokens, j) : t?.kind === 'alt' ? enclosing(tokens, t.parent) : 'stop';
    if (out === 'edge') return true;
    if (out === 'stop') return false;
    j = out - 1;
  }
}

/** Nothing is matched after token `k` in any match that reaches it. */
function atEnd(tokens: readonly Token[], k: number): boolean {
  for (let j = k + 1; ; ) {
    if (j >= tokens.length) return true;
    const t = tokens[j];
    if (t?.kind === 'apos') { j += tokens[j + 1]?.kind === 'quant' ? 2 : 1; continue; }
    const out = t?.kind === 'close' ? enclosing(tokens, t.open) : t?.kind === 'alt' ? enclosing(tokens, t.parent) : 'stop';
    if (out === 'edge') return true;
    if (out === 'stop') return false;
    const g = tokens[out];
    const close = g?.kind === 'open' ? g.close : tokens.length;
    j = close + (tokens[close + 1]?.kind === 'quant' ? 2 : 1);
  }
}

export interface Boundary {
  /** The character after the boundary, as far as the pattern decides it. */
  next: Side;
  /** The character before it. */
  prev: Side;
  /** The boundary is where every match it takes part in starts, or ends. */
  atStart: boolean;
  atEnd: boolean;
}

/** For each `\b` or `\B` in `chars` (outside classes), by source index: what the pattern says around it. */
export function boundaries(chars: readonly string[]): Map<number, Boundary> {
  const { tokens, at } = tokenize(chars);
  const found = new Map<number, Boundary>();
  for (const [index, k] of at) {
    const t = tokens[k];
    if (t?.kind !== 'esc' || (t.letter !== 'b' && t.letter !== 'B')) continue;
    found.set(index, { next: firstSide(tokens, k + 1), prev: lastSide(tokens, k - 1), atStart: atStart(tokens, k), atEnd: atEnd(tokens, k) });
  }
  return found;
}

/** Each token's source text, in order. */
function pieces(chars: readonly string[], at: ReadonlyMap<number, number>): string[] {
  const starts = [...at.keys()];
  return starts.map((s, k) => chars.slice(s, starts[k + 1] ?? chars.length).join(''));
}

/** The pattern's top-level alternatives, as source text (`a|b(c|d)` → `a`, `b(c|d)`). */
export function topLevelAlternatives(src: string): string[] {
  const chars = Array.from(src);
  const { tokens, at } = tokenize(chars);
  const text = pieces(chars, at);
  const alts = [''];
  tokens.forEach((t, k) => {
    if (t.kind === 'alt' && t.parent === -1) alts.push('');
    else alts[alts.length - 1] += text[k] ?? '';
  });
  return alts;
}

const FLIPPED: Readonly<Record<string, string>> = { '(?=': '(?<=', '(?!': '(?<!', '(?<=': '(?=', '(?<!': '(?!', '^': '$', $: '^' };

/**
 * The pattern that matches the reversed text wherever this one matches the text: every sequence
 * read backwards, lookaheads turned into lookbehinds and back, `^` and `$` swapped. The linear
 * engine can look behind but not ahead, so a lookahead runs as a lookbehind on the reversed text.
 */
export function reversePattern(src: string): string {
  const chars = Array.from(src);
  const { tokens, at } = tokenize(chars);
  const text = pieces(chars, at);
  const sequence = (from: number, to: number): string => {
    const alts: string[] = [];
    let items: string[] = [];
    for (let k = from; k < to; k += 1) {
      const t = tokens[k];
      if (t?.kind === 'alt') {
        alts.push(items.reverse().join(''));
        items = [];
        continue;
      }
      let item: string;
      if (t?.kind === 'open') {
        const close = t.close === -1 ? to : t.close;
        const opener = text[k] ?? '(';
        item = `${FLIPPED[opener] ?? opener}${sequence(k + 1, close)})`;
        k = close;
      } else {
        const piece = text[k] ?? '';
        item = t?.kind === 'other' ? (FLIPPED[piece] ?? piece) : piece;
      }
      // A quantifier stays behind its atom.
      while (tokens[k + 1]?.kind === 'quant') {
        item += text[k + 1] ?? '';
        k += 1;
      }
      items.push(item);
    }
    alts.push(items.reverse().join(''));
    return alts.join('|');
  };
  return sequence(0, tokens.length);
}
