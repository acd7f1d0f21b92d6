import { describe, expect, it } from 'vitest';
import { DEFAULT_FEATURES, featurize, skeleton, type FeatureSpec } from '../../src/core/model/features.ts';
import { TextModel, topTopic } from '../../src/core/model/text-model.ts';
import { evaluateModel, splitHeldOut, train, trainFile, type Example } from '../../src/core/model/train.ts';

/** A small labeled set in the project's languages: enough for the model to learn the topics apart. */
const EXAMPLES: Example[] = [
  ...['хочу самоисключение на полгода', 'не могу остановиться играть, помогите', 'закройте мне доступ, я игроман', 'i cant stop gambling please block me',
    'self exclusion for 6 months please', "o'zimni to'xtata olmayapman, bloklang", 'qimorga qaram bo\'lib qoldim', 'я проиграл всю зарплату, жена не знает',
    'помогите бросить ставки', 'block my account i have a gambling problem', 'ўзимни тўхтата олмаяпман', 'depozit limit qo\'ying o\'zimga']
    .map((text) => ({ text, topic: 'responsible_gaming' })),
  ...['вывод не пришёл уже три дня', 'где мои деньги, вывел вчера', 'withdrawal pending for a week', 'pul yechib bo\'lmayapti', 'депозит не зачислился',
    'пополнил через click, баланс пустой', 'deposit did not arrive', 'kartaga pul tushmadi', 'деньги списали два раза', 'refund my deposit please',
    'пулим келмади', 'payment declined by bank']
    .map((text) => ({ text, topic: 'payments' })),
  ...['какие документы нужны для верификации', 'паспорт не принимают', 'verification of my id failed', 'selfie rejected again', 'hujjatlarni qayerga yuboraman',
    'аккаунт заблокировали до проверки', 'proof of address needed?', 'pasport rasmini qabul qilmadi', 'документы на проверке неделю', 'my account is under review',
    'хужжат юбордим', 'kyc taking too long']
    .map((text) => ({ text, topic: 'kyc' })),
  ...['приложение не открывается', 'как поменять язык', 'app crashes on start', 'sayt ochilmayapti', 'забыл пароль', 'how do i change my email',
    'ilova ishlamayapti', 'не приходит смс код', 'site is down', 'parolni unutdim', 'ваш оператор грубит', 'where is the live chat']
    .map((text) => ({ text, topic: 'other' })),
];

describe('text model features', () => {
  it('reads text as the rules do: ё = е, Uzbek letters and apostrophes folded, card numbers masked', () => {
    const same = (a: string, b: string) => expect([...featurize(a).index].sort()).toEqual([...featurize(b).index].sort());
    same('Вывод ещё не пришёл', 'вывод еще не пришел');
    same("o'zimni to'xtata olmayapman", 'oʻzimni toʻxtata olmayapman');
    same('ўзимни тўхтата олмаяпман', 'узимни тухтата олмаяпман');
    same('card 4111 1111 1111 1111 charged', 'card 4000 0566 5566 5556 charged');
  });

  it('reads each word through its Latin skeleton: Cyrillic, Latin and translit spellings share features', () => {
    expect(skeleton('заблокируйте')).toBe(skeleton('zablokiruyte'));
    expect(skeleton('ютказдим')).toBe(skeleton('yutqazdim'));
    expect(skeleton('хочу')).toBe(skeleton('hochu'));
    expect(skeleton('самоисключение')).toBe(skeleton('samoisklyuchenie'));
    expect(skeleton('дааа')).toBe('da');
    const shared = (a: string, b: string, spec?: FeatureSpec) => {
      const x = new Set(featurize(a, spec).index);
      const y = featurize(b, spec).index;
      return y.filter((i) => x.has(i)).length / Math.max(x.size, y.length);
    };
    // The word features keep the spelling, the character n-grams are the skeleton's.
    expect(shared('заблокируйте меня', 'zablokiruyte menya')).toBeGreaterThan(0.7);
    expect(shared('ўзимни тўхтата олмаяпман', "o'zimni to'xtata olmayapman")).toBeGreaterThan(0.6);
    // A model file written before the skeleton (no `skeleton` in its features) reads spellings.
    const spelling: FeatureSpec = { ...DEFAULT_FEATURES, skeleton: undefined };
    expect(shared('заблокируйте меня', 'zablokiruyte menya', spelling)).toBe(0);
    const old = trainFile(EXAMPLES, { features: spelling });
    expect(old.features).not.toHaveProperty('skeleton');
    expect(topTopic(TextModel.fromJSON(JSON.parse(JSON.stringify(old))).score('вывод не пришёл на карту')).topic).toBe('payments');
  });

  it('weighs every message the same: the vector has unit length', () => {
    const { value } = featurize('вывод не пришёл уже три дня');
    expect(Math.hypot(...value)).toBeCloseTo(1, 5);
    expect(featurize('').index.length).toBe(0);
  });

  it('costs a long email no more than its first 1,200 words', () => {
    const long = 'слово '.repeat(50_000);
    expect(featurize(long).index.length).toBeLessThan(100);
  });
});

describe('training', () => {
  it('learns the topics apart: every topic right on messages it did not see', () => {
    const model = train(EXAMPLES);
    const unseen = [
      { text: 'не могу перестать играть, заблокируйте меня', topic: 'responsible_gaming' },
      { text: 'вывод не пришёл на карту', topic: 'payments' },
      { text: 'какие документы для верификации нужны', topic: 'kyc' },
      { text: 'приложение не открывается на телефоне', topic: 'other' },
    ];
    for (const e of unseen) expect(topTopic(model.score(e.text)).topic, e.text).toBe(e.topic);
    expect(evaluateModel(model, unseen).accuracy).toBe(1);
  });

  it('gives probabilities: every topic scored, adding up to 1', () => {
    const scores = train(EXAMPLES).score('депозит не зачислился');
    expect(Object.keys(scores).sort()).toEqual(['kyc', 'other', 'payments', 'responsible_gaming']);
    expect(Object.values(scores).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
  });

  it('is deterministic: the same examples and seed give the same weights, another seed others', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const a = trainFile(EXAMPLES, { seed: 7, now });
    const b = trainFile([...EXAMPLES].reverse(), { seed: 7, now });
    const c = trainFile(EXAMPLES, { seed: 8, now });
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    expect(c.weights).not.toBe(a.weights);
  });

  it('refuses to train on one topic', () => {
    expect(() => train(EXAMPLES.filter((e) => e.topic === 'kyc'))).toThrow(/at least two topics/);
  });

  it('holds out part of every topic, the same part for the same seed', () => {
    const a = splitHeldOut(EXAMPLES, 0.25, 3);
    expect(a.heldOut.length + a.train.length).toBe(EXAMPLES.length);
    for (const t of ['responsible_gaming', 'payments', 'kyc', 'other']) expect(a.heldOut.filter((e) => e.topic === t).length).toBe(3);
    expect(splitHeldOut(EXAMPLES, 0.25, 3).heldOut).toEqual(a.heldOut);
  });
});

describe('model file', () => {
  it('round-trips through JSON with the same scores', () => {
    const file = trainFile(EXAMPLES);
    const again = TextModel.fromJSON(JSON.parse(JSON.stringify(file)));
    const original = TextModel.fromJSON(file);
    expect(again.score('где мои деньги')).toEqual(original.score('где мои деньги'));
    expect(again.topics).toEqual(['kyc', 'other', 'payments', 'responsible_gaming']);
  });

  it('refuses a file that is not a model, naming what is wrong', () => {
    const file = trainFile(EXAMPLES);
    expect(() => TextModel.fromJSON({ ...file, version: 2 })).toThrow(/version/);
    expect(() => TextModel.fromJSON({ ...file, format: 'other' })).toThrow(/format/);
    expect(() => TextModel.fromJSON({ ...file, bias: [0] })).toThrow(/1 biases for 4 topics/);
    expect(() => TextModel.fromJSON({ ...file, weights: '' })).toThrow(/0 weights/);
    expect(() => TextModel.fromJSON({ ...file, topics: ['a', 'a', 'b', 'c'] })).toThrow(/not unique/);
    expect(() => TextModel.fromJSON({ ...file, features: { ...file.features, buckets: 1000 } })).toThrow(/power of two/);
    expect(() => TextModel.fromJSON('{}')).toThrow(/not a Switchboard model file/);
  });
});
