/**
 * A JavaScript-syntax pattern (flags `iu`, already valid) read into a small tree: just enough to
 * tell which literal text every match must contain (src/core/rules/required-text.ts) and how
 * much a backtracking engine can try from one place (src/core/linear-regex.ts). What the reader
 * does not know in detail becomes `any` (some one character); what it does not expect at all
 * becomes `unknown`, about which both questions answer "nothing known", never something wrong.
 */

/**
 * `re2Differs`: RE2 reads this differently from JavaScript with the `iu` flags: its `\b` and `\B`
 * know only ASCII letters (JavaScript's also `ſ` and the Kelvin sign); a `\S` inside a class is
 * not an ASCII space there (a Unicode space in JavaScript); `\P{Lu}` leaves out `a` there, where
 * JavaScript's case-insensitive `\P{Lu}` matches `A` (it matches `a`, and `A` folds to `a`).
 */
export type PatternNode =
  /** One literal character (a code point, as written). */
  | { kind: 'char'; ch: string }
  /** One character from a class, an escape such as `\s`, or `.`; `chars` lists a small plain class. */
  | { kind: 'any'; chars?: readonly string[]; re2Differs?: true }
  /** Matches no text: `^`, `$`, `\b`, `\B`. */
  | { kind: 'edge'; re2Differs?: true }
  /** A lookaround: matches no text, but runs `item` at that place. */
  | { kind: 'look'; item: PatternNode }
  /** A named group (a capture the rules' templates can read). */
  | { kind: 'named'; item: PatternNode }
  | { kind: 'seq'; items: readonly PatternNode[] }
  | { kind: 'alt'; options: readonly PatternNode[] }
  | { kind: 'repeat'; min: number; max: number; item: PatternNode }
  /** Something a valid pattern cannot hold here: assume the worst of it. */
  | { kind: 'unknown' };

const CLASS_ESCAPES = new Set(['d', 'D', 'w', 'W', 's', 'S', 'p', 'P']);
const CONTROL_ESCAPES: Readonly<Record<string, string>> = { t: '\t', n: '\n', v: '\v', f: '\f', r: '\r' };
/** A class listed character by character when it has at most this many members. */
const SMALL_CLASS = 8;

class Reader {
  private i = 0;
  private readonly chars: readonly string[];

  constructor(src: string) {
    this.chars = Array.from(src);
  }

  private peek(k = 0): string {
    return this.chars[this.i + k] ?? '';
  }

  private startsWith(s: string): boolean {
    return this.chars.slice(this.i, this.i + s.length).join('') === s;
  }

  /** Moves past the next `ch` (to the end when there is none: the reader always moves on). */
  private skipPast(ch: string): void {
    const at = this.chars.indexOf(ch, this.i);
    this.i = at === -1 ? this.chars.length : at + 1;
  }

  read(): PatternNode {
    const node = this.alternation();
    // An unbalanced `)` cannot happen in a valid pattern; read the rest anyway.
    while (this.i < this.chars.length) {
      this.i += 1;
      this.alternation();
    }
    return node;
  }

  private alternation(): PatternNode {
    const options = [this.sequence()];
    while (this.peek() === '|') {
      this.i += 1;
      options.push(this.sequence());
    }
    return options.length === 1 ? (options[0] as PatternNode) : { kind: 'alt', options };
  }

  private sequence(): PatternNode {
    const items: PatternNode[] = [];
    while (this.i < this.chars.length && this.peek() !== '|' && this.peek() !== ')') items.push(this.quantified(this.atom()));
    return items.length === 1 ? (items[0] as PatternNode) : { kind: 'seq', items };
  }

  private quantified(item: PatternNode): PatternNode {
    for (;;) {
      const c = this.peek();
      let min: number;
      let max: number;
      if (c === '*') [min, max] = [0, Infinity];
      else if (c === '+') [min, max] = [1, Infinity];
      else if (c === '?') [min, max] = [0, 1];
      else if (c === '{') {
        const m = /^\{(\d+)(,(\d*))?\}/u.exec(this.chars.slice(this.i, this.i + 24).join(''));
        if (!m) return item;
        min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] ? Number(m[3]) : Infinity;
        this.i += m[0].length - 1;
      } else return item;
      this.i += 1;
      // A lazy quantifier matches the same texts.
      if (this.peek() === '?') this.i += 1;
      item = { kind: 'repeat', min, max, item };
    }
  }

  private atom(): PatternNode {
    const c = this.peek();
    if (c === '(') return this.group();
    if (c === '[') return this.charClass();
    if (c === '\\') return this.escape();
    this.i += 1;
    if (c === '.') return { kind: 'any' };
    if ('*+?{}])'.includes(c)) return { kind: 'unknown' };
    if (c === '^' || c === '$') return { kind: 'edge' };
    // A lone surrogate is no character an engine agrees on.
    return /^[\uD800-\uDFFF]$/u.test(c) ? { kind: 'any' } : { kind: 'char', ch: c };
  }

  private group(): PatternNode {
    let kind: 'look' | 'named' | undefined;
    if (this.startsWith('(?=') || this.startsWith('(?!')) [kind, this.i] = ['look', this.i + 3];
    else if (this.startsWith('(?<=') || this.startsWith('(?<!')) [kind, this.i] = ['look', this.i + 4];
    else if (this.startsWith('(?<')) {
      kind = 'named';
      this.skipPast('>');
    }
    else if (this.startsWith('(?')) this.skipPast(':'); // (?:…) and modifiers (?i:…)
    else this.i += 1;
    const item = this.alternation();
    this.i += 1; // `)`
    return kind ? { kind, item } : item;
  }

  /** `[…]`: a small class of plain characters is listed; anything else is one unknown character. */
  private charClass(): PatternNode {
    this.i += 1;
    const negated = this.peek() === '^';
    if (negated) this.i += 1;
    const members: string[] = [];
    let plain = !negated;
    let re2Differs = false;
    while (this.i < this.chars.length && this.peek() !== ']') {
      const c = this.peek();
      if (c === '\\') {
        const next = this.peek(1);
        if (next === 'S' || next === 'P') re2Differs = true;
        if (/^[\p{L}\p{N}]$/u.test(next)) plain = false;
        else members.push(next);
        this.i += 2;
        // `\p{…}`, `\u{…}`: skip the braces.
        if (this.peek() === '{' && /^[pPu]$/u.test(next)) this.skipPast('}');
      } else {
        if (c === '-' && members.length > 0 && this.peek(1) !== ']') plain = false;
        members.push(c);
        this.i += 1;
      }
    }
    this.i += 1; // `]`
    if (re2Differs) return { kind: 'any', re2Differs };
    return plain && members.length > 0 && members.length <= SMALL_CLASS ? { kind: 'any', chars: members } : { kind: 'any' };
  }

  private escape(): PatternNode {
    const next = this.peek(1);
    this.i += 2;
    if (next === 'b' || next === 'B') return { kind: 'edge', re2Differs: true };
    if (CLASS_ESCAPES.has(next) || next === 'u' || next === 'x' || next === 'c' || next === 'k' || /^\d$/u.test(next)) {
      // The escape's argument: `\p{…}`, `\u{…}`, `\k<…>`, `\uXXXX`, `\xXX`, `\cX`.
      if (this.peek() === '{') this.skipPast('}');
      else if (next === 'k' && this.peek() === '<') this.skipPast('>');
      else if (next === 'u') this.i += 4;
      else if (next === 'x') this.i += 2;
      else if (next === 'c') this.i += 1;
      // A backreference repeats an unknown text: like any character, repeated.
      if (next === 'k' || /^[1-9]$/u.test(next)) return { kind: 'repeat', min: 0, max: Infinity, item: { kind: 'any' } };
      return next === 'P' ? { kind: 'any', re2Differs: true } : { kind: 'any' };
    }
    return { kind: 'char', ch: CONTROL_ESCAPES[next] ?? next };
  }
}

export function readPattern(src: string): PatternNode {
  return new Reader(src).read();
}
