/**
 * Finds which of many literal strings occur in a text, in one pass (Aho–Corasick), comparing
 * characters the way the pattern engine does with its `i` flag: two characters are the same when
 * RE2's simple case folding puts them in one class (`к` `К`; `s` `S` `ſ`; `в` `В` `ᲀ`). The pass
 * reads each character once and follows at most one failure link per character on average, so
 * its time is linear in the text whatever the strings.
 *
 * (Not the `modern-ahocorasick` package: it matches whole grapheme clusters, so `e` is not found
 * in `e\u0301`, and folds case in full, `ß` as `ss`; RE2 matches code points and folds simply. A
 * prefilter that differs from the engine it guards would skip texts the engine matches.)
 */

/** Classes where upper-casing then lower-casing does not reach the one member both engines share. */
const FOLD_EXCEPTIONS: ReadonlyMap<number, number> = new Map([
  [0x131, 0x131], // ı is alone (its upper case I belongs to i)
  [0x1fd3, 0x390], // ΐ ΐ
  [0x1fe3, 0x3b0], // ΰ ΰ
  [0xfb05, 0xfb06], // ﬅ ﬆ
]);

/**
 * One code point per case-folding class, as the `i` flag of RE2 and of JavaScript sees them
 * (test/unit/literal-search.test.ts checks every cased code point against re2js).
 */
export function foldCase(cp: number): number {
  if (cp < 0x80) return cp >= 0x41 && cp <= 0x5a ? cp + 0x20 : cp;
  const exception = FOLD_EXCEPTIONS.get(cp);
  if (exception !== undefined) return exception;
  const ch = String.fromCodePoint(cp);
  const upper = ch.toUpperCase();
  // Full case mappings can expand (ß → SS); such a character is folded from itself.
  const lower = (upper.length === ch.length ? upper : ch).toLowerCase();
  const folded = lower.codePointAt(0) ?? cp;
  return String.fromCodePoint(folded) === lower ? folded : cp;
}

/** Code points of `s`, folded. */
function foldedCodePoints(s: string): number[] {
  return Array.from(s, (c) => foldCase(c.codePointAt(0) ?? 0));
}

const UNKNOWN = 0;
const OUTSIDE = 1;
/** The largest number an Int32Array holds: marks of passes and scans count up to it. */
export const MAX_MARK = 0x7fffffff;

export class LiteralSearch {
  /** Per state: its transitions, by the character's index in the alphabet. */
  private readonly next: Map<number, number>[] = [new Map()];
  private readonly fail: number[] = [0];
  /** Per state: the strings that end here, and the nearest state down its failure links that ends some. */
  private readonly ends: number[][] = [[]];
  private readonly endLink: number[] = [-1];
  /** Folded code point → its index in the alphabet. */
  private readonly alphabet = new Map<number, number>();
  /** BMP code unit → 2 + alphabet index, OUTSIDE, or UNKNOWN yet (filled as texts are read). */
  private readonly bmp = new Uint32Array(0x10000);
  private readonly seen: Int32Array;
  private pass = 0;

  /** `strings[i]` is reported as `i`; empty strings are never reported. */
  constructor(strings: readonly string[]) {
    strings.forEach((s, id) => {
      let state = 0;
      for (const cp of foldedCodePoints(s)) {
        let letter = this.alphabet.get(cp);
        if (letter === undefined) this.alphabet.set(cp, (letter = this.alphabet.size));
        let to = this.next[state]?.get(letter);
        if (to === undefined) {
          to = this.next.length;
          this.next.push(new Map());
          this.fail.push(0);
          this.ends.push([]);
          this.endLink.push(-1);
          this.next[state]?.set(letter, to);
        }
        state = to;
      }
      if (state !== 0) this.ends[state]?.push(id);
    });
    // Breadth first: a state's failure link is the longest proper suffix of its string that is a state.
    const queue: number[] = [...(this.next[0]?.values() ?? [])];
    for (let head = 0; head < queue.length; head += 1) {
      const state = queue[head] ?? 0;
      for (const [letter, to] of this.next[state] ?? []) {
        let f = this.fail[state] ?? 0;
        while (f !== 0 && !this.next[f]?.has(letter)) f = this.fail[f] ?? 0;
        const target = this.next[f]?.get(letter);
        const link = target !== undefined && target !== to ? target : 0;
        this.fail[to] = link;
        this.endLink[to] = (this.ends[link]?.length ?? 0) > 0 ? link : (this.endLink[link] ?? -1);
        queue.push(to);
      }
    }
    this.seen = new Int32Array(this.next.length);
  }

  private letterOf(cp: number): number {
    if (cp < 0x10000) {
      const known = this.bmp[cp] ?? UNKNOWN;
      if (known !== UNKNOWN) return known === OUTSIDE ? -1 : known - 2;
      const letter = this.alphabet.get(foldCase(cp)) ?? -1;
      this.bmp[cp] = letter === -1 ? OUTSIDE : letter + 2;
      return letter;
    }
    return this.alphabet.get(foldCase(cp)) ?? -1;
  }

  /** Calls `found(id)` once for each string that occurs in `text`. */
  search(text: string, found: (id: number) => void): void {
    // Passes are told apart by number; before the number outgrows the marks, start them over.
    if (this.pass === MAX_MARK) {
      this.seen.fill(0);
      this.pass = 0;
    }
    this.pass += 1;
    const seen = this.seen;
    let state = 0;
    for (let i = 0; i < text.length; i += 1) {
      let cp = text.charCodeAt(i);
      if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < text.length) {
        const low = text.charCodeAt(i + 1);
        if (low >= 0xdc00 && low <= 0xdfff) {
          cp = (cp - 0xd800) * 0x400 + (low - 0xdc00) + 0x10000;
          i += 1;
        }
      }
      const letter = this.letterOf(cp);
      if (letter === -1) {
        state = 0;
        continue;
      }
      for (;;) {
        const to = this.next[state]?.get(letter);
        if (to !== undefined) {
          state = to;
          break;
        }
        if (state === 0) break;
        state = this.fail[state] ?? 0;
      }
      // Report each state's strings once per pass; a state already reported has its chain reported too.
      for (let s = (this.ends[state]?.length ?? 0) > 0 ? state : (this.endLink[state] ?? -1); s > 0 && seen[s] !== this.pass; s = this.endLink[s] ?? -1) {
        seen[s] = this.pass;
        for (const id of this.ends[s] ?? []) found(id);
      }
    }
  }
}
