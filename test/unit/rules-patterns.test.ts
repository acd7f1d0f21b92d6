import { readdirSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { toRe2Syntax } from '../../src/core/linear-regex.ts';
import { readPattern } from '../../src/core/pattern-tree.ts';
import { searchableText } from '../../src/core/rules/conditions.ts';
import { LiteralSearch } from '../../src/core/rules/literal-search.ts';
import { compilePattern, PatternSet, rewritePattern } from '../../src/core/rules/pattern.ts';
import { requiredText } from '../../src/core/rules/required-text.ts';
import type { Condition } from '../../src/core/rules/schema.ts';
import { reversePattern, topLevelAlternatives } from '../../src/core/rules/word-sides.ts';
import { playerMessage } from '../rules/message.ts';
import { loadLabeled, loadShippedRules } from '../rules/shipped.ts';

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
  const variants = texts.filter((_, i) => i % 4 === 0).flatMap((t) => [t.toUpperCase(), t.replaceAll('в', 'ᲀ').replaceAll('s', 'ſ').replaceAll('k', '\u212A')]);
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
