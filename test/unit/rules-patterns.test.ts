import { readdirSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { toRe2Syntax, type LinearMatch } from '../../src/core/linear-regex.ts';
import { readPattern } from '../../src/core/pattern-tree.ts';
import { searchableText } from '../../src/core/rules/conditions.ts';
import { LiteralSearch } from '../../src/core/rules/literal-search.ts';
import { compileRules, evaluate } from '../../src/core/rules/engine.ts';
import { compilePattern, PatternSet, rewritePattern, type PatternCompiler } from '../../src/core/rules/pattern.ts';
import { requiredText } from '../../src/core/rules/required-text.ts';
import type { Condition } from '../../src/core/rules/schema.ts';
import { reversePattern, topLevelAlternatives } from '../../src/core/rules/word-sides.ts';
import { playerMessage } from '../fixtures/message.ts';
import { loadLabeled, loadShippedRules } from '../rules/shipped.ts';

/** A small deterministic generator, so a failure repeats. */
function random(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
}

function javascriptMatch(m: RegExpExecArray | null): LinearMatch | null {
  if (!m) return null;
  return { text: m[0], index: m.index, groups: Object.fromEntries(Object.entries(m.groups ?? {}).filter((e): e is [string, string] => e[1] !== undefined)) };
}

const required = (src: string): readonly string[] | undefined => requiredText(readPattern(src));
const reversed = (s: string): string => Array.from(s).reverse().join('');

/** Every pattern (matches and unless) of the shipped rules. */
function shippedPatterns(): string[] {
  const found: string[] = [];
  const walk = (cond: Condition | undefined): void => {
    if (!cond) return;
    found.push(...(cond.text?.matches ?? []), ...(cond.text?.unless ?? []));
    for (const c of [...(cond.all ?? []), ...(cond.any ?? []), ...(cond.atLeast?.of ?? [])]) walk(c);
    walk(cond.not);
  };
  for (const rule of loadShippedRules().rules) walk(rule.when);
  return found;
}

/** Normalized texts of every labeled message, and the same in upper case and with case-fold look-alikes. */
function labeledTexts(): string[] {
  const files = readdirSync(new URL('../rules/', import.meta.url)).filter((f) => f.endsWith('.yaml'));
  const texts = files.flatMap(loadLabeled).map((m) => m.text);
  const variants = texts.filter((_, i) => i % 8 === 0).flatMap((t) => [t.toUpperCase(), t.replaceAll('в', 'ᲀ').replaceAll('s', 'ſ').replaceAll('k', '\u212A')]);
  return [...texts, ...variants].map((t) => searchableText(playerMessage(t)));
}

describe('the strings every match needs', () => {
  it('come from literal runs, small classes and alternations, and the most selective part wins', () => {
    expect(required('вывод')).toEqual(['вывод']);
    expect(required('(a|b)cd')).toEqual(['acd', 'bcd']);
    expect(required('x\\s+yz')).toEqual(['yz']);
    expect(required('ab?c')).toEqual(['ac', 'abc']);
    expect(required('[ou]yin')).toEqual(['oyin', 'uyin']);
    expect(required('.{0,3}abc\\w*')).toEqual(['abc']);
    expect(required('(?<![\\p{L}])abc(?=x)')).toEqual(['abc']);
    expect(required('(ab)+c')).toEqual(['ab']);
    expect(required('(stop|\\w+) me')).toEqual([' me']);
  });

  it('are none where a match can avoid every literal', () => {
    for (const src of ['a*', '\\w+', '(foo|\\d+)', 'x?', '', '(?:)', '[^a]']) expect([src, required(src)]).toEqual([src, undefined]);
  });

  it('occur in every labeled text that an alternative of the shipped rules matches', () => {
    const texts = labeledTexts();
    const missed: string[] = [];
    for (const alt of shippedPatterns().flatMap(topLevelAlternatives)) {
      let backward = false;
      let rewritten: string;
      try {
        rewritten = rewritePattern(alt);
        toRe2Syntax(rewritten);
      } catch {
        [backward, rewritten] = [true, rewritePattern(reversePattern(alt))];
      }
      const strings = required(rewritten);
      // The engines' reference: V8 on the form that runs.
      const reference = new RegExp(rewritten, 'iu');
      const search = strings && new LiteralSearch(backward ? strings.map(reversed) : strings);
      for (const text of texts) {
        if (!reference.test(backward ? reversed(text) : text)) continue;
        let hit = false;
        search?.search(text, () => (hit = true));
        if (search && !hit) missed.push(`${alt} in ${text}`);
      }
    }
    expect(missed).toEqual([]);
  }, 120_000);
});

describe('the shipped rules on the prefilter and both engines', () => {
  it('route every labeled message, upper-cased and with case-fold look-alikes too, as on JavaScript’s engine', () => {
    const shipped = loadShippedRules();
    // The reference: each whole pattern on V8, in the general form of \b the equivalence tests use.
    const javascript: PatternCompiler = {
      compile(src) {
        const re = new RegExp(rewritePattern(src, { narrow: false }), 'iu');
        return { source: src, test: (t) => re.test(t), exec: (t) => javascriptMatch(re.exec(t)) };
      },
    };
    const ours = compileRules(shipped.rules, { replies: shipped.replies });
    const reference = compileRules(shipped.rules, { replies: shipped.replies, patterns: javascript });
    const files = readdirSync(new URL('../rules/', import.meta.url)).filter((f) => f.endsWith('.yaml'));
    const texts = files.flatMap(loadLabeled).map((m) => m.text);
    const differ: string[] = [];
    for (const text of [...texts, ...texts.filter((_, i) => i % 8 === 0).flatMap((t) => [t.toUpperCase(), t.replaceAll('в', 'ᲀ').replaceAll('s', 'ſ')])]) {
      const ctx = { message: playerMessage(text), isFirst: true, now: new Date('2025-03-10T09:00:00Z'), timezone: 'Asia/Tashkent' };
      if (JSON.stringify(evaluate(ours, ctx)) !== JSON.stringify(evaluate(reference, ctx))) differ.push(text);
    }
    expect(differ).toEqual([]);
  }, 120_000);
});

describe('a pattern set', () => {
  it('matches as the whole pattern does: the leftmost match, and at one place the first alternative', () => {
    expect(compilePattern('b|ab').exec('xab')).toMatchObject({ text: 'ab', index: 1 });
    expect(compilePattern('ab|a').exec('ab')).toMatchObject({ text: 'ab', index: 0 });
    expect(compilePattern('a|ab').exec('ab')).toMatchObject({ text: 'a', index: 0 });
    // A branch that runs backwards (it looks ahead) gives its match in the text's own terms.
    expect(compilePattern('addict(?!ive)|zzz').exec('an addict!')).toMatchObject({ text: 'addict', index: 3 });
    expect(compilePattern('addict(?!ive)').test('addictive')).toBe(false);
  });

  it('lets case-fold look-alikes through the prefilter, as the engines match them', () => {
    for (const [src, text] of [['вывод', 'ᲀывод'], ['sms', 'ſms'], ['kyc', '\u212Ayc'], ['\\bвывод\\b', 'мой ВЫВОД']]) {
      expect([src, text, compilePattern(src ?? '').test(text ?? '')]).toEqual([src, text, true]);
    }
  });

  it('scans a text once for all of its patterns', () => {
    const set = new PatternSet();
    const patterns = ['вывод', 'депозит|deposit', '\\bbonus\\w*', 'x+y'].map((p) => set.compile(p));
    const scans = vi.spyOn(LiteralSearch.prototype, 'search');
    const text = 'вывод и депозит, bonuses';
    expect(patterns.map((p) => p.test(text))).toEqual([true, true, true, false]);
    expect(scans).toHaveBeenCalledTimes(1);
    scans.mockRestore();
  });

  it('matches what JavaScript matches, for random patterns and texts', () => {
    // Small alphabets make matches, overlaps and near misses common.
    const next = random(11);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
    const atom = (depth: number): string => {
      const r = next();
      if (r < 0.45) return pick(['a', 'b', 'ж', 'Ж', ' ', 'ab', 'жa', "o'", '-']);
      if (r < 0.6) return pick(['[ab]', '[^a]', '\\s', '\\w', '\\d', '.', '[аж]']);
      if (r < 0.7) return pick(['\\b', '\\B', '(?<!a)', '(?<=ж)', '(?!b)', '(?=a)', '^', '$']);
      return depth > 2 ? 'a' : `(${pick(['', '?:', '?<g>'])}${alternation(depth + 1)})`;
    };
    const quantified = (depth: number): string => atom(depth) + (next() < 0.3 ? pick(['?', '*', '+', '{0,2}', '{1,3}', '{2}', '+?']) : '');
    const sequence = (depth: number): string => Array.from({ length: 1 + Math.floor(next() * 4) }, () => quantified(depth)).join('');
    const alternation = (depth: number): string => Array.from({ length: 1 + Math.floor(next() * 3) }, () => sequence(depth)).join('|');
    const text = (): string => Array.from({ length: Math.floor(next() * 12) }, () => pick(['a', 'b', 'ж', 'Ж', ' ', '1', 'x', '\n', 'ᲀ'])).join('');
    let compared = 0;
    for (let round = 0; round < 1500; round += 1) {
      const src = alternation(0);
      let reference: RegExp;
      let pattern: ReturnType<typeof compilePattern>;
      try {
        reference = new RegExp(rewritePattern(src, { narrow: false }), 'iu');
        pattern = compilePattern(src);
      } catch {
        continue; // invalid (a named group twice), or refused as not linear
      }
      for (let k = 0; k < 12; k += 1) {
        const t = text();
        const m = reference.exec(t);
        const groups = m && Object.fromEntries(Object.entries(m.groups ?? {}).filter(([, v]) => v !== undefined));
        expect([src, t, pattern.test(t), pattern.exec(t)?.groups ?? null]).toEqual([src, t, m !== null, groups]);
        compared += 1;
      }
    }
    expect(compared).toBeGreaterThan(5000);
  });

  it('gives the same answers on RE2 alone for the boundary and lookaround forms', () => {
    const patterns = ['\\bвывод\\b', '\\b(?<id>\\d{4,12})\\b', "(?<!(can|do)\\s)\\bi\\b", 'addict(?!ive)', '\\bмир(?! x)', '\\B(ар|ob)\\B', "\\bo'?zini\\b", 'долг(и|ов)?\\b'];
    const texts = ['i', 'can i', 'do i go', 'мой вывод висит', 'привыводе', 'id 123456', 'x12345y', 'addictive', 'an addict', 'мир x', 'мир', 'барон', 'bob', 'ozini', "o'zini", 'долгов!', 'подолгу'];
    for (const src of patterns) {
      const both = compilePattern(src);
      const re2 = new PatternSet({ backtracking: false }).compile(src);
      for (const text of texts) expect([src, text, re2.test(text), re2.exec(text)]).toEqual([src, text, both.test(text), both.exec(text)]);
    }
  });
});

describe('a long-running rule set', () => {
  it('keeps matching after more scans than its marks can count', () => {
    const set = new PatternSet();
    const withdrawal = set.compile('вывод');
    (set as unknown as { scan: number }).scan = 0x7fffffff - 2;
    for (let k = 0; k < 5; k += 1) expect([k, withdrawal.test(k % 2 ? 'бонус' : 'мой вывод')]).toEqual([k, k % 2 === 0]);
  });
});
