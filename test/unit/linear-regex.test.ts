import { RE2JS } from 're2js';
import { describe, expect, it } from 'vitest';
import { runsOnV8, compileLinear } from '../../src/core/linear-regex.ts';

describe('which engine runs a pattern', () => {
  it('V8 only where one attempt is bounded: no *, + or {n,}, and few ways through', () => {
    for (const src of ['вывод', '(a|b){0,3}c', 'x.{0,9}y', '(?<![\\p{L}])i\\s(go|went)', 'so (that )?i (cant|wont)']) {
      expect([src, runsOnV8(src)]).toEqual([src, true]);
    }
    for (const src of ['a+', '\\w*x', '(a+)+$', 'a{2,}', 'x.{0,59}y', '(a|b|c|d){0,8}', '(?<=a+)b']) {
      expect([src, runsOnV8(src)]).toEqual([src, false]);
    }
  });

  it('RE2 where the engines read the syntax or capture differently: \\b, \\S in a class, \\P, a named group repeated or looked behind', () => {
    for (const src of ['\\bkyc\\b', 'a\\B', '[\\S]x', '\\P{Lu}', '[\\P{Ll}x]', '(?:(?<a>x)|y){2}', '(?<=(?<a>x))y']) {
      expect([src, runsOnV8(src)]).toEqual([src, false]);
    }
    expect(runsOnV8('(?<a>x)?y')).toBe(true);
    expect(compileLinear('\\bkyc').test('\u212Akyc')).toBe(true);
  });

  it('refuses on either engine what RE2 cannot run, so both accept the same patterns', () => {
    expect(() => compileLinear('a(?=b)')).toThrow(/lookahead/);
    expect(() => compileLinear('(a)\\1')).toThrow(/backreference/);
    // JavaScript knows the long name; RE2 only the short categories and scripts.
    expect(() => compileLinear('\\p{Letter}')).toThrow(/not supported/);
    expect(compileLinear('\\p{L}\\p{Script=Cyrillic}').test('xЖ')).toBe(true);
  });

  it('V8 and re2js agree on every code point of the classes the rules emit (\\w, \\b: letters, digits, marks, _)', () => {
    const all = Array.from({ length: 0x110000 }, (_, cp) => (cp >= 0xd800 && cp <= 0xdfff ? '' : String.fromCodePoint(cp))).join('');
    for (const cls of ['[\\p{L}\\p{N}\\p{M}_]', '\\p{Cyrillic}', '\\p{Latin}']) {
      const v8 = [...all.matchAll(new RegExp(cls.replace(/\\p\{(Cyrillic|Latin)\}/u, '\\p{Script=$1}'), 'giu'))].length;
      const re2 = [...RE2JS.compile(cls, RE2JS.CASE_INSENSITIVE).matchAll(all)].length;
      expect([cls, re2]).toEqual([cls, v8]);
    }
  });

  it('gives the same matches, groups and positions on both engines', () => {
    const patterns = ['\\b(?<id>\\d{4,12})\\b', '(вывод|выплат)[^\\p{L}]', 'x.{0,5}y', 'a(?<!b a)', 'ab?c|a'];
    const texts = ['id 123456', 'мой вывод!', 'ВЫВОД', 'x..y xy', 'b a', 'ba a', 'abc', 'ac', 'a', ''];
    for (const src of patterns) {
      const v8 = compileLinear(src);
      const re2 = compileLinear(src, { backtracking: false });
      for (const text of texts) expect([src, text, v8.test(text), v8.exec(text)]).toEqual([src, text, re2.test(text), re2.exec(text)]);
    }
  });
});
