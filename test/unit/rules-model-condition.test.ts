import { describe, expect, it } from 'vitest';
import { compileRules, explain, RuleCompileError, type TopicScorer } from '../../src/core/rules/engine.ts';
import type { Rule } from '../../src/core/rules/schema.ts';
import { describeDecision } from '../../src/core/pipeline.ts';
import { Rule as RuleSchema } from '../../src/core/rules/schema.ts';
import { playerMessage } from '../fixtures/message.ts';

/** A scorer with fixed answers per text, counting its calls: the engine must score a message once. */
function scorer(table: Record<string, Record<string, number>>): TopicScorer & { calls: number } {
  const s = {
    topics: ['responsible_gaming', 'payments', 'other'],
    calls: 0,
    score(text: string) {
      s.calls++;
      return table[text] ?? { responsible_gaming: 0.1, payments: 0.1, other: 0.8 };
    },
  };
  return s;
}

const RG_BY_MODEL: Rule = RuleSchema.parse({
  name: 'rg-model',
  when: { model: { topic: 'responsible_gaming', atLeast: 0.35 }, not: { text: { matches: ['вывод'] } } },
  set: { priority: 'urgent', tags: ['responsible_gaming'] },
  stop: true,
});
const PAYMENTS: Rule = { name: 'payments', when: { any: [{ text: { keywords: ['депозит'] } }, { model: { topic: 'payments', atLeast: 0.6 } }] }, set: { tags: ['payments'] } };

function run(rules: Rule[], text: string, model?: TopicScorer) {
  return explain(compileRules(rules, { modelTopics: model?.topics }), { message: playerMessage(text), isFirst: true, now: new Date(), timezone: 'UTC', model });
}

describe('model: rule condition', () => {
  // The model is asked about the normalized text the rules search (ё = е, lower case).
  const model = scorer({
    'мне плохо, все проиграл': { responsible_gaming: 0.81, payments: 0.12, other: 0.07 },
    'вывод не пришел, мне плохо': { responsible_gaming: 0.55, payments: 0.4, other: 0.05 },
    'где деньги': { responsible_gaming: 0.05, payments: 0.9, other: 0.05 },
  });

  it('fires when the topic scores at least the threshold, and says so in the trace', () => {
    const { decision, trace } = run([RG_BY_MODEL], 'мне плохо, всё проиграл', model);
    expect(decision.tags).toEqual(['responsible_gaming']);
    expect(decision.priority).toBe('urgent');
    expect(trace[0]).toMatchObject({ rule: 'rg-model', fired: true, usedModel: true });
    expect(trace[0]!.why).toContain('model responsible_gaming 0.81 ≥ 0.35');
  });

  it('keeps the text veto: `not` a keyword wins over the model', () => {
    const { decision, trace } = run([RG_BY_MODEL], 'вывод не пришёл, мне плохо', model);
    expect(decision.tags).toEqual([]);
    expect(trace[0]!.why).toContain('not (text matched');
  });

  it('combines with `any`: a keyword or the model', () => {
    expect(run([PAYMENTS], 'где деньги', model).decision.tags).toEqual(['payments']);
    expect(run([PAYMENTS], 'депозит', model).decision.tags).toEqual(['payments']);
    expect(run([PAYMENTS], 'привет', model).decision.tags).toEqual([]);
  });

  it('records the scores and the fired rules that used them in the decision, and the note names them', () => {
    const { decision } = run([RG_BY_MODEL, PAYMENTS], 'где деньги', model);
    expect(decision.model).toEqual({ scores: { responsible_gaming: 0.05, payments: 0.9, other: 0.05 }, usedBy: ['payments'] });
    expect(describeDecision(decision, decision.firedRules)).toContain('Text model: payments 0.90, responsible_gaming 0.05, other 0.05 (used by rule payments).');
  });

  it('scores each message once, however many rules ask, and not at all when none does', () => {
    const m = scorer({});
    run([RG_BY_MODEL, PAYMENTS, { ...PAYMENTS, name: 'payments-2' }], 'привет', m);
    expect(m.calls).toBe(1);
    const { decision } = run([{ name: 'kw', when: { text: { keywords: ['привет'] } }, set: { tags: ['hi'] } }], 'привет', m);
    expect(m.calls).toBe(1);
    expect(decision.model).toBeUndefined();
  });

  it('never holds without a model, and says why', () => {
    const { decision, trace } = run([RG_BY_MODEL], 'мне плохо, всё проиграл');
    expect(decision.tags).toEqual([]);
    expect(trace[0]!.why).toBe('model: no model is loaded');
  });

  it('refuses a topic the loaded model does not know, naming the rule and the topics it knows', () => {
    const rule: Rule = { name: 'typo', when: { model: { topic: 'responsible_gamin', atLeast: 0.5 } } };
    let error: unknown;
    try {
      compileRules([rule], { modelTopics: model.topics });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RuleCompileError);
    expect(String((error as Error).message)).toContain('the model has no topic "responsible_gamin" (it knows responsible_gaming, payments, other)');
    expect((error as RuleCompileError).path).toBe('when.model.topic');
  });

  it('with minWords, trusts no score on a greeting or a two-word question, and says why', () => {
    const sure = scorer({
      'подскажите, пожалуйста': { responsible_gaming: 0.94, payments: 0.03, other: 0.03 },
      'подскажите, пожалуйста, я не могу остановиться': { responsible_gaming: 0.94, payments: 0.03, other: 0.03 },
    });
    const rule: Rule = { name: 'rg-model', when: { model: { topic: 'responsible_gaming', atLeast: 0.7, minWords: 4 } }, set: { tags: ['responsible_gaming'] } };
    const short = run([rule], 'Подскажите, пожалуйста', sure);
    expect(short.decision.tags).toEqual([]);
    expect(short.trace[0]!.why).toBe('model: 2 words < 4, too little text to trust a score');
    // Too short to ask: the model is not even run.
    expect(sure.calls).toBe(0);
    const long = run([rule], 'Подскажите, пожалуйста, я не могу остановиться', sure);
    expect(long.decision.tags).toEqual(['responsible_gaming']);
    expect(long.trace[0]!.why).toBe('model responsible_gaming 0.94 ≥ 0.7');
    expect(RuleSchema.safeParse({ name: 'x', when: { model: { topic: 'kyc', minWords: 0 } } }).success).toBe(false);
  });

  it('takes 0.5 when atLeast is left out, and refuses a threshold outside 0–1', () => {
    expect(RuleSchema.parse({ name: 'x', when: { model: { topic: 'kyc' } } }).when?.model?.atLeast).toBe(0.5);
    expect(RuleSchema.safeParse({ name: 'x', when: { model: { topic: 'kyc', atLeast: 1.5 } } }).success).toBe(false);
    expect(RuleSchema.safeParse({ name: 'x', when: { model: { topic: 'kyc', above: 0.5 } } }).success).toBe(false);
  });
});
