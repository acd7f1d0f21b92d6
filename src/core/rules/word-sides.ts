import { foldChar, isApostrophe } from './normalize.ts';

/**
 * Which side of a `\b` in an admin's pattern is known to hold a word character.
 *
 * A Unicode-aware `\b` is four lookarounds over the whole word class (every alphabet), and V8
 * spends milliseconds compiling each one: hundreds of them made loading the shipped rules, and
 * the first messages after it, slow. When the pattern itself decides one side (`\bвывод`: the next
 * character is `в`), one lookaround on the other side says the same thing. This module reads a
 * pattern just far enough to tell: literal characters, escapes, classes, groups, alternatives and
 * quantifiers.
 */

type Token =
  | { kind: 'lit'; word: boolean }
  | { kind: 'esc'; letter: string }
  | { kind: 'apos' }
  | { kind: 'class' }
  | { kind: 'open'; look: boolean; close: number }
  | { kind: 'close'; open: number }
  | { kind: 'alt' }
  | { kind: 'quant'; optional: boolean }
  | { kind: 'other' };

const WORD_CHAR = /^[\p{L}\p{N}\p{M}_]$/u;
/** Enough characters to hold any escape (`\p{Script_Extensions=Cyrillic}`) or group opener. */
const ESCAPE_MAX = 64;

/** Length of the quantifier (`?`, `*`, `+`, `{n,m}`, optionally lazy) `src` starts with, else 0. */
export function quantifierLength(src: string): number {
  const m = /^(?:[?*+]|\{\d+(?:,\d*)?\})\??/u.exec(src);
  return m ? m[0].length : 0;
}

/** Length of the escape sequence `src` starts with (a backslash). */
export function escapeLength(src: string): number {
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

function classLength(chars: readonly string[], start: number): number {
  let i = start + 1;
  if (chars[i] === '^') i += 1;
  while (i < chars.length && chars[i] !== ']') i += chars[i] === '\\' ? escapeLength(chars.slice(i, i + ESCAPE_MAX).join('')) : 1;
  return Math.min(i + 1, chars.length) - start;
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
    const rest = (): string => chars.slice(i, i + ESCAPE_MAX).join('');
    if (c === '\\') {
      const next = chars[i + 1] ?? '';
      push(isApostrophe(next) ? { kind: 'apos' } : { kind: 'esc', letter: next }, escapeLength(rest()));
    } else if (c === '[') {
      push({ kind: 'class' }, classLength(chars, i));
    } else if (c === '(') {
      const head = rest();
      const look = /^\(\?<?[=!]/u.test(head);
      const named = /^\(\?<[^=!]/u.exec(head) ? chars.indexOf('>', i) + 1 - i : 0;
      const length = look ? (head[2] === '<' ? 4 : 3) : head.startsWith('(?:') ? 3 : named > 0 ? named : 1;
      opens.push(tokens.length);
      push({ kind: 'open', look, close: -1 }, length);
    } else if (c === ')') {
      const open = opens.pop() ?? -1;
      const opener = tokens[open];
      if (opener?.kind === 'open') opener.close = tokens.length;
      push({ kind: 'close', open }, 1);
    } else if (c === '|') {
      push({ kind: 'alt' }, 1);
    } else if (quantifierLength(rest()) > 0) {
      const length = quantifierLength(rest());
      push({ kind: 'quant', optional: c === '?' || c === '*' || /^\{0[,}]/u.test(rest()) }, length);
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

/** Every way through the tokens from `k` on begins by matching a word character. */
function startsWithWord(tokens: readonly Token[], k: number): boolean {
  // Apostrophes are dropped from the pattern, with their quantifiers.
  while (tokens[k]?.kind === 'apos') k += tokens[k + 1]?.kind === 'quant' ? 2 : 1;
  const t = tokens[k];
  let word: boolean;
  let last = k;
  if (t?.kind === 'lit') word = t.word;
  else if (t?.kind === 'esc') word = t.letter === 'w' || t.letter === 'd';
  else if (t?.kind === 'open' && !t.look && t.close > k) {
    word = alternativeStarts(tokens, k).every((s) => startsWithWord(tokens, s));
    last = t.close;
  } else return false;
  const q = tokens[last + 1];
  // An optional atom may be skipped: then what follows it must start with a word character too.
  if (word && q?.kind === 'quant' && q.optional) return startsWithWord(tokens, last + 2);
  return word;
}

/** Every way through the tokens up to `k` ends by matching a word character. */
function endsWithWord(tokens: readonly Token[], k: number): boolean {
  for (;;) {
    if (tokens[k]?.kind === 'apos') k -= 1;
    else if (tokens[k]?.kind === 'quant' && tokens[k - 1]?.kind === 'apos') k -= 2;
    else break;
  }
  const q = tokens[k];
  const optional = q?.kind === 'quant' && q.optional;
  if (q?.kind === 'quant') k -= 1;
  const t = tokens[k];
  let word: boolean;
  let first = k;
  if (t?.kind === 'lit') word = t.word;
  else if (t?.kind === 'esc') word = t.letter === 'w' || t.letter === 'd';
  else if (t?.kind === 'close') {
    const opener = tokens[t.open];
    if (opener?.kind !== 'open' || opener.look) return false;
    const starts = alternativeStarts(tokens, t.open);
    const ends = [...starts.slice(1).map((s) => s - 2), k - 1];
    word = ends.every((e) => endsWithWord(tokens, e));
    first = t.open;
  } else return false;
  // An optional atom may be skipped: then what comes before it must end with a word character too.
  if (word && optional) return endsWithWord(tokens, first - 1);
  return word;
}

export type WordSide = 'after' | 'before' | undefined;

/**
 * For each `\b` or `\B` in `chars` (outside classes), by source index: the side known to hold
 * a word character in every match, `after` checked first.
 */
export function boundarySides(chars: readonly string[]): Map<number, WordSide> {
  const { tokens, at } = tokenize(chars);
  const sides = new Map<number, WordSide>();
  for (const [index, k] of at) {
    const t = tokens[k];
    if (t?.kind !== 'esc' || (t.letter !== 'b' && t.letter !== 'B')) continue;
    sides.set(index, startsWithWord(tokens, k + 1) ? 'after' : endsWithWord(tokens, k - 1) ? 'before' : undefined);
  }
  return sides;
}
