import { describe, expect, it } from 'vitest';
import {
  compileRules, detectLanguage, evaluate, explain, normalizeText, pickReply, renderTemplate,
  RuleCompileError, topicOf, type RuleContext,
} from '../../src/core/rules/engine.ts';
import { compilePattern, rewritePattern } from '../../src/core/rules/pattern.ts';
import type { Decision, Rule } from '../../src/core/rules/schema.ts';
import { playerMessage } from '../fixtures/message.ts';

const MONDAY_NOON_TASHKENT = new Date('2025-03-10T07:00:00Z');

function ctx(text: string, extra: Partial<RuleContext> = {}, overrides: Parameters<typeof playerMessage>[1] = {}): RuleContext {
  return { message: playerMessage(text, overrides), isFirst: true, now: MONDAY_NOON_TASHKENT, timezone: 'Asia/Tashkent', ...extra };
}

function run(rules: Rule[], c: RuleContext): Decision {
  return evaluate(compileRules(rules), c);
}

const tagIf = (name: string, when: Rule['when']): Rule => ({ name, when, set: { tags: [name] } });

function compileError(rules: Rule[]): RuleCompileError {
  try {
    compileRules(rules);
  } catch (err) {
    if (err instanceof RuleCompileError) return err;
    throw err;
  }
  throw new Error('expected a RuleCompileError');
}

describe('normalizeText', () => {
  it('lower-cases, folds ё and every Uzbek apostrophe, and collapses whitespace', () => {
    expect(normalizeText('  Oʻzini  ЁЛКА\n\tgʼ o’ o‘ o` o´ ')).toBe("o'zini елка g' o' o' o' o'");
  });

  it('folds Uzbek Cyrillic letters typed without the Uzbek layout', () => {
    expect(normalizeText('Ўзимни ҚАРЗ ғ ҳисоб')).toBe('узимни карз г хисоб');
  });
});

describe('text conditions', () => {
  const rule = tagIf('rg', { text: { matches: ["o'zini cheklash"] } });

  it.each(['oʻzini cheklash', 'o’zini cheklash', 'O‘ZINI CHEKLASH', 'ozini   cheklash', 'o`zini cheklash'])(
    'matches the admin pattern o\'zini cheklash in %j', (text) => {
      expect(run([rule], ctx(text)).tags).toEqual(['rg']);
    });

  it('matches an apostrophe-less pattern against text that has the apostrophe', () => {
    expect(run([tagIf('pul', { text: { matches: ['pul yechib'] } })], ctx("pul yech'ib olmadim")).tags).toEqual(['pul']);
    expect(run([tagIf('kw', { text: { keywords: ['ozimni'] } })], ctx('oʻzimni cheklayman')).tags).toEqual(['kw']);
  });

  it("does not let an apostrophe's own quantifier move onto the previous letter", () => {
    const r = tagIf('q', { text: { matches: ["^o'?zini$"] } });
    expect(run([r], ctx('zini')).tags).toEqual([]);
    expect(run([r], ctx('ozini')).tags).toEqual(['q']);
  });

  it('makes \\b and \\w work for Cyrillic', () => {
    const r = tagIf('w', { text: { matches: ['\\bвывод\\b', 'постав\\w*те лимит'] } });
    expect(run([r], ctx('мой вывод висит')).tags).toEqual(['w']);
    expect(run([r], ctx('привыводе')).tags).toEqual([]);
    expect(run([r], ctx('поставьте лимит')).tags).toEqual(['w']);
  });

  it('is case-insensitive and folds ё in patterns too', () => {
    expect(run([tagIf('e', { text: { matches: ['ВЫВЁЛ'] } })], ctx('вывел вчера')).tags).toEqual(['e']);
  });

  it('lets unless veto a match', () => {
    const r = tagIf('limit', { text: { matches: ['лимит'], unless: ['вывод'] } });
    expect(run([r], ctx('поставьте лимит на депозит')).tags).toEqual(['limit']);
    expect(run([r], ctx('какой лимит на вывод')).tags).toEqual([]);
  });

  it('treats keywords as plain substrings, not regexes', () => {
    const r = tagIf('k', { text: { keywords: ['x.y'] } });
    expect(run([r], ctx('a x.y b')).tags).toEqual(['k']);
    expect(run([r], ctx('a xzy b')).tags).toEqual([]);
  });

  it('searches form field values and the subject as well as the text', () => {
    const r = tagIf('kyc', { text: { matches: ['паспорт'] } });
    expect(run([r], ctx('', {}, { form: { formId: 'contact', fields: { message: 'загрузил паспорт' } } })).tags).toEqual(['kyc']);
    expect(run([r], ctx('см. тему', {}, { conversation: { externalId: '1', subject: 'Паспорт' } })).tags).toEqual(['kyc']);
  });

  it('never lets . run from one field into the next', () => {
    const r = tagIf('x', { text: { matches: ['вывод.*паспорт'] } });
    expect(run([r], ctx('вывод', {}, { form: { formId: 'f', fields: { a: 'паспорт' } } })).tags).toEqual([]);
  });

  it('reads only the first 8,000 characters of normalized text, and the subject before a long body', () => {
    const r = tagIf('rg', { text: { matches: ['самоисключ'] } });
    // Whitespace runs collapse before the cut: 20,000 raw spaces count as one character.
    const padded = (n: number, tail: string): string => `${'а '.repeat(n / 2)}${' '.repeat(20_000)}${tail}`;
    expect(run([r], ctx(padded(7_980, 'самоисключение')))).toMatchObject({ tags: ['rg'] });
    expect(run([r], ctx(padded(8_000, 'самоисключение')))).toMatchObject({ tags: [] });
    expect(run([r], ctx(`${'слово '.repeat(50_000)}самоисключение`))).toMatchObject({ tags: [] });
    const subject = { conversation: { externalId: '1', subject: 'Самоисключение' } };
    expect(run([r], ctx('слово '.repeat(50_000), {}, subject))).toMatchObject({ tags: ['rg'] });
  });
});

describe('patterns run by the linear engine', () => {
  // Unicode \b, lookaheads and lookbehinds are translated for RE2 (one side checked, an edge
  // consumed, lookaheads run backwards on the reversed text); JavaScript's own backtracking engine
  // on the general four-lookaround form is the reference for which texts match.
  const patterns = [
    '\\bвывод\\b', '\\b(вывод|withdraw)\\b', '\\bx?y\\b', '(a|)\\bb', '\\b(?:x|y)?z\\b', 'foo\\B', '\\Bbar', '\\B(ар|ob)\\B',
    "(?<!(can|do)\\s)\\bi\\b", 'a+\\b', 'a*\\b-', '(\\w+)\\b!', '\\b[а-я]+\\b', '\\b(?<id>\\d{4,12})\\b', "\\bo'?zini\\b",
    '\\b\\s', '-\\b', '(?:ab)+\\bc',
    'долг(и|ов)?\\b', 'ab?\\b', '\\b(по)?мог', '(a|b)?\\bc', "\\bo'?\\b", 'x\\b(y|)', 'y?\\Bz', '[\\p{Script=Latin}]\\bx',
    'addict(?!ive)', 'do(?=\\s+i)', '\\bмир(?! x)', '^x', 'y$',
  ];
  // A boundary neither side of which the pattern decides, or a look behind and a look ahead in one
  // alternative: no direction runs it in linear time.
  const refused = [
    '\\p{Script=Cyrillic}+\\b', '(?<!a)b(?!c)', '(?<=x)a\\b.y', '\\b(x|y\\s)\\b', 'a{0,2}\\b', '\\b(?=x)\\w', '\\bx?(y|z?)\\b',
    '\\b(ab)?\\s', 'i(?! go)\\b', 'a\\b.{0,3}\\bx', '(?<!a\\s)x(?!\\sy)|z',
  ];
  const texts = [
    'i', 'hi', 'can i', 'do i go', 'i-x', 'вывод', 'привыводе', 'мой вывод висит', 'withdraw!', 'y', 'xy', 'x y', '_y', 'éy', 'zini',
    'ozini', 'o zini', 'foo', 'foox', 'bar', 'xbar', 'барон', 'bob', 'aaa-', 'a-', '-', '--b', 'word!', 'слово', '12345', 'x12345y', 'id 123456',
    'abab c', 'ababc', 'x', 'a b', ' ', '', 'долг', 'долги', 'долгов!', 'подолгу', 'ab', 'a b!', 'помог', 'смог', 'c', 'ac', 'a c', 'xz',
    'o', 'zo', 'x y', 'xy', 'z', 'yz', '-z', 'мир x', 'ax', 'a x', 'миx', 'addictive', 'addicted', 'an addict', 'a x y', 'b x y', 'ab x', 'a  x',
  ];
  it.each(patterns)('matches the texts JavaScript matches for %j', (src) => {
    const linear = compilePattern(src);
    const reference = new RegExp(rewritePattern(src, { narrow: false }), 'iu');
    for (const text of texts) {
      expect([text, linear.test(text)]).toEqual([text, reference.test(text)]);
      const m = reference.exec(text);
      const groups = m && Object.fromEntries(Object.entries(m.groups ?? {}).filter(([, v]) => v !== undefined));
      expect([text, linear.exec(text)?.groups ?? null]).toEqual([text, groups]);
    }
  });

  it.each(refused)('refuses %j, naming why', (src) => {
    expect(() => compilePattern(src)).toThrow(/linear time/);
  });

  it('refuses backreferences and names them', () => {
    expect(() => compilePattern('(a)\\1')).toThrow(/backreference/);
  });
});

describe('value conditions', () => {
  it('matches channel, channelKind and kind as a string, a list or an object', () => {
    const rules: Rule[] = [
      tagIf('by-id', { channel: 'telegram' }),
      tagIf('by-list', { channelKind: ['webform', 'telegram'] }),
      tagIf('by-obj', { kind: { in: ['call', 'voicemail'] } }),
      tagIf('by-regex', { channel: { matches: '^tele' } }),
    ];
    expect(run(rules, ctx('hi')).tags).toEqual(['by-id', 'by-list', 'by-regex']);
    expect(run(rules, ctx('hi', {}, { kind: 'voicemail', channel: { id: 'phone', kind: 'twilio' } })).tags).toEqual(['by-obj']);
  });

  it('checks sender and form fields, including exists', () => {
    const rules: Rule[] = [
      tagIf('ru', { sender: { locale: 'RU' } }),
      tagIf('has-phone', { sender: { phone: { exists: true } } }),
      tagIf('no-email', { sender: { email: { exists: false } } }),
      tagIf('topic', { form: { topic: ['payments', 'bonus'] } }),
    ];
    const c = ctx('x', {}, {
      sender: { externalId: '1', locale: 'ru', phone: '+998901234567' },
      form: { formId: 'f', fields: { topic: 'payments' } },
    });
    expect(run(rules, c).tags).toEqual(['ru', 'has-phone', 'no-email', 'topic']);
    expect(run(rules, ctx('x')).tags).toEqual(['no-email']);
  });

  it('checks hasAttachment and first', () => {
    const rules = [tagIf('att', { hasAttachment: true }), tagIf('follow-up', { first: false })];
    const withFile = ctx('x', { isFirst: false }, { attachments: [{ name: 'a.jpg', mime: 'image/jpeg', source: 'f1' }] });
    expect(run(rules, withFile).tags).toEqual(['att', 'follow-up']);
    expect(run(rules, ctx('x')).tags).toEqual([]);
  });

  it('composes with all, any and not', () => {
    const r = tagIf('c', {
      all: [{ channel: 'telegram' }, { any: [{ text: { keywords: ['a'] } }, { text: { keywords: ['b'] } }] }],
      not: { text: { keywords: ['z'] } },
    });
    expect(run([r], ctx('b')).tags).toEqual(['c']);
    expect(run([r], ctx('b z')).tags).toEqual([]);
    expect(run([r], ctx('c')).tags).toEqual([]);
  });

  it('fires atLeast only when enough of its conditions hold, and says which ones decided', () => {
    const cues = ['every day', 'my salary', 'my wife'].map((k) => ({ text: { keywords: [k] } }));
    const r = tagIf('worry', { atLeast: { count: 2, of: cues }, not: { text: { keywords: ['error'] } } });
    expect(run([r], ctx('every day my salary goes')).tags).toEqual(['worry']);
    expect(run([r], ctx('my wife asks where my salary went')).tags).toEqual(['worry']);
    expect(run([r], ctx('my salary card gives an error every day')).tags).toEqual([]);
    expect(run([r], ctx('my salary is late')).tags).toEqual([]);
    const trace = explain(compileRules([r]), ctx('every day my salary goes, my wife knows')).trace[0];
    expect(trace?.why).toContain('2 of 3 held: text matched "every day" at "every day" & text matched "my salary"');
    expect(explain(compileRules([r]), ctx('my wife')).trace[0]?.why).toContain('only 1 of 3 held, 2 needed');
  });

  it('a rule whose branches all failed for the same reason says that reason once', () => {
    const text = (k: string) => ({ text: { keywords: [`absent${k}`] } });
    const r = tagIf('rg', { any: [text('a'), { any: [text('b'), text('c')] }, { atLeast: { count: 2, of: [text('d'), text('e'), text('f')] } }] });
    expect(explain(compileRules([r]), ctx('nothing here')).trace[0]?.why).toBe('text: no pattern or keyword matched');
    const mixed = tagIf('m', { any: [text('a'), { channel: { equals: 'email' } }, text('b')] });
    const why = explain(compileRules([mixed]), ctx('nothing here')).trace[0]?.why ?? '';
    expect(why.match(/no pattern or keyword matched/g)).toHaveLength(1);
    expect(why).toMatch(/^none of: /);
  });
});

describe('time windows', () => {
  const night = tagIf('night', { time: { from: '22:00', to: '02:00' } });
  const at = (iso: string) => ctx('x', { now: new Date(iso) });

  it('wraps past midnight in the configured zone (Tashkent is UTC+5)', () => {
    expect(run([night], at('2025-03-10T18:30:00Z')).tags).toEqual(['night']); // 23:30 local
    expect(run([night], at('2025-03-10T20:30:00Z')).tags).toEqual(['night']); // 01:30 local
    expect(run([night], at('2025-03-10T21:30:00Z')).tags).toEqual([]); // 02:30 local
    expect(run([night], at('2025-03-10T12:00:00Z')).tags).toEqual([]); // 17:00 local
  });

  it('uses the rule zone over the context zone', () => {
    const london = tagIf('l', { time: { from: '09:00', to: '10:00', timezone: 'Europe/London' } });
    expect(run([london], at('2025-03-10T09:30:00Z')).tags).toEqual(['l']);
    expect(run([london], at('2025-03-10T04:30:00Z')).tags).toEqual([]); // 09:30 in Tashkent, 04:30 in London
  });

  it('counts the small hours as part of the day the window opened', () => {
    const fridayNight = tagIf('fri', { time: { days: ['fri'], from: '22:00', to: '02:00' } });
    expect(run([fridayNight], at('2025-03-14T20:00:00Z')).tags).toEqual(['fri']); // Sat 01:00 local
    expect(run([fridayNight], at('2025-03-15T20:00:00Z')).tags).toEqual([]); // Sun 01:00 local
  });

  it('restricts to days of the week', () => {
    const weekend = tagIf('weekend', { time: { days: ['sat', 'sun'] } });
    expect(run([weekend], at('2025-03-15T07:00:00Z')).tags).toEqual(['weekend']);
    expect(run([weekend], at('2025-03-10T07:00:00Z')).tags).toEqual([]);
  });
});

describe('firing rules', () => {
  it('stops at a rule with stop: true and says why later rules did not run', () => {
    const rules: Rule[] = [
      { name: 'rg', when: { text: { keywords: ['stop'] } }, set: { tags: ['rg'] }, stop: true },
      { name: 'later', set: { tags: ['later'] } },
    ];
    const { decision, trace } = explain(compileRules(rules), ctx('please stop'));
    expect(decision.tags).toEqual(['rg']);
    expect(decision.firedRules).toEqual(['rg']);
    expect(trace[1]).toEqual({ rule: 'later', fired: false, why: 'skipped: rule "rg" stopped evaluation' });
    expect(run(rules, ctx('hello')).tags).toEqual(['later']);
  });

  it('never lets a later rule lower the priority', () => {
    expect(run([{ name: 'a', set: { priority: 'urgent' } }, { name: 'b', set: { priority: 'low' } }], ctx('x')).priority).toBe('urgent');
    expect(run([{ name: 'a', set: { priority: 'low' } }, { name: 'b', set: { priority: 'high' } }], ctx('x')).priority).toBe('high');
  });

  it('accumulates tags, replies and notify without duplicates; last writer wins for type and group; fields merge', () => {
    const d = run([
      { name: 'a', set: { tags: ['payments', 'vip'], type: 'question', group: 'general', fields: { a: 1 } }, reply: 'ack', notify: 'slack:x' },
      { name: 'b', set: { tags: ['withdrawal', 'payments'], type: 'incident', group: 'payments', fields: { b: true } }, reply: 'ack', notify: ['slack:x', 'slack:y'] },
    ], ctx('x'));
    expect(d).toEqual({
      tags: ['payments', 'vip', 'withdrawal'], type: 'incident', group: 'payments', fields: { a: 1, b: true },
      replies: ['ack'], notify: ['slack:x', 'slack:y'], firedRules: ['a', 'b'],
    });
  });

  it('explains which pattern fired and on which words', () => {
    const { trace } = explain(compileRules([tagIf('w', { text: { matches: ['выв[ео]д'] } })]), ctx('Где мой ВЫВОД?'));
    expect(trace[0]).toEqual({ rule: 'w', fired: true, why: 'text matched "выв[ео]д" at "вывод"' });
  });

  it('is pure: the same input gives the same decision and the rules are not changed', () => {
    const rules: Rule[] = [{ name: 'a', set: { tags: ['x'], fields: { f: '{{channel}}' } } }];
    const snapshot = structuredClone(rules);
    const compiled = compileRules(rules);
    expect(evaluate(compiled, ctx('x'))).toEqual(evaluate(compiled, ctx('x')));
    expect(rules).toEqual(snapshot);
  });
});

describe('compile errors', () => {
  it('names the rule and the path of a bad regex, nested or not', () => {
    const err = compileError([
      { name: 'ok', when: { text: { matches: ['a'] } } },
      { name: 'broken', when: { any: [{ channel: 'x' }, { text: { matches: ['a', 'b', '(unclosed'] } }] } },
    ]);
    expect(err.ruleName).toBe('broken');
    expect(err.path).toBe('when.any[1].text.matches[2]');
    expect(err.message).toContain('rule "broken", when.any[1].text.matches[2]: invalid regular expression "(unclosed"');
  });

  it('rejects an unknown time zone, an impossible time, an unknown sender field and an empty pattern', () => {
    expect(compileError([{ name: 't', when: { time: { timezone: 'Mars/Olympus' } } }]).path).toBe('when.time.timezone');
    expect(compileError([{ name: 't', when: { time: { from: '25:00' } } }]).path).toBe('when.time.from');
    expect(compileError([{ name: 's', when: { sender: { phnoe: { exists: true } } } }]).path).toBe('when.sender.phnoe');
    expect(compileError([{ name: 'e', when: { text: { unless: [' '] } } }]).path).toBe('when.text.unless[0]');
  });

  it('rejects an atLeast that can never hold and names a bad pattern inside it', () => {
    const never = compileError([{ name: 'n', when: { atLeast: { count: 3, of: [{ first: true }, { first: false }] } } }]);
    expect(never.message).toContain('rule "n", when.atLeast.count: 3 of 2 conditions can never hold');
    const bad = compileError([{ name: 'b', when: { atLeast: { count: 1, of: [{ first: true }, { text: { matches: ['(x'] } }] } } }]);
    expect(bad.path).toBe('when.atLeast.of[1].text.matches[0]');
  });

  it('rejects duplicate rule names and, given the replies, a reply that does not exist', () => {
    expect(compileError([{ name: 'a' }, { name: 'a' }]).path).toBe('name');
    expect(() => compileRules([{ name: 'r', reply: 'rg_ack' }], { replies: { other: { en: 'x' } } }))
      .toThrow('rule "r", reply: no entry "rg_ack" under replies:');
  });
});

describe('templates', () => {
  const message = playerMessage(`${'a'.repeat(70)}\n\nbbbbb ccccc ddddd`, {
    sender: { externalId: '1', displayName: 'Alisher', phone: '+998901112233' },
    form: { formId: 'contact', fields: { email: 'a@b.uz' } },
    conversation: { externalId: '1', subject: 'Help' },
  });
  const decision: Decision = { priority: 'high', tags: ['payments', 'withdrawal'], fields: {}, replies: [], notify: [], firedRules: [] };

  it('renders every placeholder, and unknown ones as empty', () => {
    expect(renderTemplate(
      '{{channel}}/{{channelKind}} {{sender.displayName}} {{sender.phone}} {{form.email}} {{priority}} [{{tags}}] {{subject}} <{{nope}}><{{sender.constructor}}>',
      message, decision,
    )).toBe('telegram/telegram Alisher +998901112233 a@b.uz high [payments, withdrawal] Help <><>');
  });

  it('cuts {{text}} to 80 characters on one line', () => {
    expect(renderTemplate('{{ text }}', message)).toBe(`${'a'.repeat(70)} bbbbb ccc…`);
  });

  it('renders subject and fields after the last rule, with the captures of the rule that set them', () => {
    const d = run([
      { name: 'id', when: { text: { matches: ['id\\s*(?<playerId>\\d+)'] } }, set: { fields: { player_id: '{{match.playerId}}', empty: '{{match.none}}' } } },
      { name: 'subject', set: { subject: '[{{priority}}] {{text}}' } },
      { name: 'prio', set: { priority: 'high' } },
    ], ctx('ID 12345 вывод'));
    expect(d.fields).toEqual({ player_id: '12345' });
    expect(d.subject).toBe('[high] ID 12345 вывод');
  });
});

describe('detectLanguage', () => {
  it('trusts a ru / uz / en locale, and ignores others', () => {
    expect(detectLanguage('hello', 'ru-RU')).toBe('ru');
    expect(detectLanguage('привет', 'uz-Cyrl')).toBe('uz');
    expect(detectLanguage('привет', 'de')).toBe('ru');
  });

  it.each([
    ['депозит тушмади', 'uz'],
    ['ставка ҳисобланмади', 'uz'],
    ['деньги не пришли на карту', 'ru'],
    ['pul yechib olmayapman', 'uz'],
    ["o'zimni cheklash kerak", 'uz'],
    ['dengi ne prishli', 'ru'],
    ['withdrawal pending for 3 days', 'en'],
    ['🙂', 'en'],
  ])('%j → %s', (text, lang) => {
    expect(detectLanguage(text)).toBe(lang);
  });
});

describe('pickReply', () => {
  const replies = { ack: { ru: 'Спасибо', uz: 'Rahmat', default: 'Thanks!' }, only: { uz: 'Rahmat' }, en: { en: 'Thanks', uz: 'Rahmat' } };

  it('prefers the exact language, then its primary subtag, then default, then en, then the first entry', () => {
    expect(pickReply(replies, 'ack', 'ru')).toBe('Спасибо');
    expect(pickReply(replies, 'ack', 'uz-Cyrl')).toBe('Rahmat');
    expect(pickReply(replies, 'ack', 'en')).toBe('Thanks!');
    expect(pickReply(replies, 'en', 'ru')).toBe('Thanks');
    expect(pickReply(replies, 'only', 'en')).toBe('Rahmat');
    expect(pickReply(replies, 'missing', 'en')).toBeUndefined();
    expect(pickReply(replies, 'toString', 'en')).toBeUndefined();
  });
});

describe('topicOf', () => {
  const d = (tags: string[]): Decision => ({ tags, fields: {}, replies: [], notify: [], firedRules: [] });
  it('reports the first topic in precedence order, else other', () => {
    expect(topicOf(d(['bets', 'payments']))).toBe('payments');
    expect(topicOf(d(['payments', 'responsible_gaming']))).toBe('responsible_gaming');
    expect(topicOf(d(['general', 'vip']))).toBe('other');
  });
});
