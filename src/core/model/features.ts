import { maskCards } from '../redact.ts';
import { matchKey } from '../rules/normalize.ts';

/**
 * What the text model sees of a message: hashed word unigrams and bigrams and character n-grams
 * of each word's Latin skeleton (so "самоисключение", "самоисключения" and "samoisklyuchenie",
 * or "ютқаздим" and "yutqazdim", share most of their features), on the same normalized text the
 * rules match.
 */

export interface FeatureSpec {
  /** Size of the hashed feature space, a power of two. */
  buckets: number;
  /** Shortest and longest character n-gram taken from each word (with `<` and `>` at its ends). */
  charMin: number;
  charMax: number;
  /** 1: words only; 2: words and pairs of neighbouring words. */
  wordNgrams: number;
  /**
   * Character n-grams of each word's Latin skeleton (see `skeleton`) instead of its spelling.
   * Absent in model files written before it existed: they read spellings.
   */
  skeleton?: boolean;
}

export const DEFAULT_FEATURES: FeatureSpec = { buckets: 1 << 18, charMin: 2, charMax: 5, wordNgrams: 2, skeleton: true };

/** A long email costs no more than this many words (the rules read 8,000 characters, about as many). */
const MAX_WORDS = 1200;

const SEED_WORD = 0x9747b28c;
const SEED_PAIR = 0x5bd1e995;
const SEED_CHAR = 0x1b873593;
const SEED_SKEL = 0x2f6b1c4d;

const CYRILLIC: Readonly<Record<string, string>> = {
  а: 'a', б: 'b', в: 'v', г: 'g', д: 'd', е: 'e', ж: 'j', з: 'z', и: 'i', й: 'i', к: 'k', л: 'l', м: 'm', н: 'n', о: 'u', п: 'p',
  р: 'r', с: 's', т: 't', у: 'u', ф: 'f', х: 'h', ц: 'c', ч: 'ch', ш: 'sh', щ: 'sh', ъ: '', ы: 'i', ь: '', э: 'e', ю: 'iu', я: 'ia',
};

/** Longest first: "shch" before "sch". */
const DIGRAPHS: readonly (readonly [string, string])[] = [['shch', 'sh'], ['sch', 'sh'], ['zh', 'j'], ['kh', 'h'], ['ts', 'c']];
const LATIN_FOLDS: Readonly<Record<string, string>> = { x: 'h', q: 'k', w: 'v', y: 'i', o: 'u' };

/**
 * A word's Latin skeleton: one spelling where Russian in Cyrillic and Russian typed in Latin
 * letters ("заблокируйте", "zablokiruyte"), and Uzbek in either script ("ютказдим", "yutqazdim";
 * the rules' normalization has already folded ў to у and dropped the apostrophe of oʻ), meet.
 * Letters players swap are merged: х/x/kh/h, қ/q/k, ж/zh/j, ц/ts/c, й/ы/y/i, о/у/o/u, and doubled
 * letters count once. Lossy on purpose: the word features keep the exact spelling.
 */
export function skeleton(word: string): string {
  let s = '';
  for (const c of word) s += CYRILLIC[c] ?? c;
  // One pass rather than a chain of replaces: this runs for every word of every message scored.
  let out = '';
  for (let i = 0; i < s.length; ) {
    const digraph = DIGRAPHS.find(([from]) => s.startsWith(from, i));
    const c = digraph ? digraph[1] : (LATIN_FOLDS[s[i]!] ?? s[i]!);
    i += digraph ? digraph[0].length : 1;
    for (const ch of c) if (out[out.length - 1] !== ch) out += ch;
  }
  return out;
}

/** FNV-1a over the UTF-16 code units of s[start, end), seeded per feature kind (no substring is built). */
function hash(s: string, seed: number, start = 0, end = s.length): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = start; i < end; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // Final avalanche (murmur3 fmix32): FNV alone clusters short keys in the low bits.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The words of a text as the model reads it: rules' normalization, card numbers masked, digits folded to 0. */
export function modelWords(text: string): string[] {
  const t = matchKey(maskCards(text)).replace(/\d/g, '0');
  const words = t.split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 0);
  return words.length > MAX_WORDS ? words.slice(0, MAX_WORDS) : words;
}

/** Character n-grams of a padded word. `skipWhole`: the whole padded word is already the word feature. */
function charGrams(padded: string, seed: number, spec: FeatureSpec, add: (h: number) => void, skipWhole: boolean): void {
  for (let n = spec.charMin; n <= spec.charMax; n++) {
    for (let i = 0; i + n <= padded.length; i++) {
      if (skipWhole && n === padded.length) continue;
      add(hash(padded, seed, i, i + n));
    }
  }
}

export interface Features {
  /** Bucket ids, each once. */
  index: Uint32Array;
  /** Weight of each bucket: counts scaled to unit length. */
  value: Float32Array;
}

/** The feature vector of a text: sparse, L2-normalized. */
export function featurize(text: string, spec: FeatureSpec = DEFAULT_FEATURES): Features {
  const mask = spec.buckets - 1;
  const counts = new Map<number, number>();
  const add = (h: number) => {
    const b = h & mask;
    counts.set(b, (counts.get(b) ?? 0) + 1);
  };
  const words = modelWords(text);
  for (let w = 0; w < words.length; w++) {
    const word = words[w]!;
    add(hash(word, SEED_WORD));
    if (spec.wordNgrams >= 2 && w + 1 < words.length) add(hash(`${word} ${words[w + 1]}`, SEED_PAIR));
    if (spec.skeleton) charGrams(`<${skeleton(word)}>`, SEED_SKEL, spec, add, false);
    else charGrams(`<${word}>`, SEED_CHAR, spec, add, true);
  }
  const index = new Uint32Array(counts.size);
  const value = new Float32Array(counts.size);
  let norm = 0;
  let i = 0;
  for (const [b, c] of counts) {
    index[i] = b;
    value[i] = c;
    norm += c * c;
    i++;
  }
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let j = 0; j < value.length; j++) value[j]! *= scale;
  return { index, value };
}
