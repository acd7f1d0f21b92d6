import { describe, expect, it } from 'vitest';
import { compileRules, detectLanguage, evaluate, pickReply, topicOf } from '../../src/core/rules/engine.ts';
import { playerMessage } from '../fixtures/message.ts';
import { playerField } from '../../src/core/identity/deliver.ts';
import type { IdentityService } from '../../src/core/identity/service.ts';
import { loadLabeled, loadShippedModel, loadShippedRules, type LabeledMessage } from '../rules/shipped.ts';

const shipped = loadShippedRules();
const model = loadShippedModel();
const compiled = compileRules(shipped.rules, { replies: shipped.replies, modelTopics: model.topics });

function classify(m: LabeledMessage) {
  return evaluate(compiled, {
    message: playerMessage(m.text),
    isFirst: true,
    now: new Date('2025-03-10T09:00:00Z'),
    timezone: 'Asia/Tashkent',
    model,
  });
}

interface Score { total: number; right: number }

function report(name: string, set: LabeledMessage[]) {
  const perTopic = new Map<string, Score>();
  const confusion = new Map<string, number>();
  const misses: string[] = [];
  let right = 0;
  for (const m of set) {
    const got = topicOf(classify(m));
    const s = perTopic.get(m.topic) ?? { total: 0, right: 0 };
    s.total += 1;
    if (got === m.topic) { s.right += 1; right += 1; } else {
      misses.push(`  ${m.topic} → ${got}: ${m.text}`);
      confusion.set(`${m.topic} → ${got}`, (confusion.get(`${m.topic} → ${got}`) ?? 0) + 1);
    }
    perTopic.set(m.topic, s);
  }
  const lines = [...perTopic].map(([t, s]) => `  ${t.padEnd(19)} ${s.right}/${s.total} (${((100 * s.right) / s.total).toFixed(1)}%)`);
  console.log(
    `${name}: ${right}/${set.length} right (${((100 * right) / set.length).toFixed(1)}%)\n${lines.join('\n')}` +
    `\nconfusions: ${[...confusion].map(([k, v]) => `${k} ×${v}`).join(', ') || 'none'}` +
    (misses.length ? `\nmisses:\n${misses.join('\n')}` : ''),
  );
  return right / set.length;
}

/**
 * Sets the rules were tuned on, in the order they were written. Each `holdout*` and `fresh*` set
 * was scored once before the rules saw it (docs/rules.md keeps those first scores); afterwards
 * every responsible-gaming message in it must stay caught, so a rule edit cannot regress them.
 */
const TUNED = [
  'labeled.yaml', 'holdout.yaml', 'holdout2.yaml', 'holdout3.yaml', 'holdout4.yaml',
  'fresh.yaml', 'fresh2.yaml', 'families.yaml', 'fresh3.yaml', 'fresh4.yaml', 'fresh5.yaml', 'fresh6.yaml',
  // Round 5: the first set written by someone who never saw the rules, then probes of the families
  // it showed to be thin, and look-alikes of the cues added for them.
  'blind.yaml', 'round5.yaml', 'round5b.yaml', 'round5c.yaml', 'round5d.yaml', 'lookalikes5.yaml',
  // Round 6: the second blind set (another author, scored once before tuning), then probes of the
  // families it widened and look-alikes of the new cues.
  'blind2.yaml', 'round6.yaml',
  // Round 7: the text model joins the rules; the third blind set (set A, scored once before
  // tuning), then probes of the families it showed thin (round7.yaml).
  'blind3.yaml', 'round7.yaml',
  // Round 8: the fourth blind set (set B, scored once after round 7), and training data written by
  // the tuner for what A and B showed the model lacked (short and off-topic routine messages).
  'blind4.yaml', 'round8.yaml',
  // The fifth blind set (set C, scored once after round 8, then tuned on).
  'blind5.yaml',
];
/**
 * Written after the last tuning and never tuned on: the honest estimate, reported, not gated.
 * Empty right after a tuning round; put the next fresh set here, score it, then move it to TUNED.
 */
const FRESH: string[] = ['blind6.yaml'];

describe('shipped iGaming rules (config/rules/igaming.yaml)', () => {
  const labeled = loadLabeled('labeled.yaml');
  const tuned = TUNED.flatMap(loadLabeled);

  it('the labeled set is as large and as varied as promised', () => {
    expect(labeled.length).toBeGreaterThanOrEqual(200);
    expect(labeled.filter((m) => m.topic === 'responsible_gaming').length).toBeGreaterThanOrEqual(40);
    expect(labeled.filter((m) => m.tricky).length).toBeGreaterThanOrEqual(20);
    expect(labeled.some((m) => m.topic === 'other')).toBe(true);
    const fresh = loadLabeled('fresh.yaml');
    expect(fresh.length).toBeGreaterThanOrEqual(150);
    expect(fresh.filter((m) => m.topic === 'responsible_gaming').length).toBeGreaterThanOrEqual(50);
    expect(fresh.filter((m) => m.tricky).length).toBeGreaterThanOrEqual(30);
    expect(new Set(fresh.map((m) => m.lang))).toEqual(new Set(['ru', 'uz', 'uz-cyrl', 'en', 'mixed']));
  });

  it('routes every responsible-gaming message to responsible gaming, urgent, with the acknowledgement', () => {
    const missed = tuned
      .filter((m) => m.topic === 'responsible_gaming')
      .filter((m) => {
        const d = classify(m);
        return !(topicOf(d) === 'responsible_gaming' && d.priority === 'urgent' && d.group === 'responsible_gaming'
          && d.replies.includes('rg_ack') && d.notify.includes('slack:compliance'));
      })
      .map((m) => m.text);
    expect(missed).toEqual([]);
  });

  it('does not mistake limit / pause / block / close in another sense for responsible gaming', () => {
    // Later sets mark hard responsible-gaming messages tricky too; here only the look-alikes count.
    const falseRg = tuned
      .filter((m) => m.tricky && m.topic !== 'responsible_gaming')
      .filter((m) => topicOf(classify(m)) === 'responsible_gaming')
      .map((m) => m.text);
    expect(falseRg).toEqual([]);
  });

  it('files no routine message of a tuned set as responsible gaming', () => {
    const falseRg = tuned
      .filter((m) => m.topic !== 'responsible_gaming')
      .filter((m) => topicOf(classify(m)) === 'responsible_gaming')
      .map((m) => m.text);
    expect(falseRg).toEqual([]);
  });

  it.each(TUNED)('files at least 95 percent of %s under the right topic', (file) => {
    expect(report(file, loadLabeled(file))).toBeGreaterThanOrEqual(0.95);
  });

  it('detects the language of at least 90% of single-language messages', () => {
    const single = labeled.filter((m) => m.lang !== 'mixed');
    const wrong = single.filter((m) => detectLanguage(m.text) !== (m.lang === 'uz-cyrl' ? 'uz' : m.lang));
    console.log(`language: ${single.length - wrong.length}/${single.length}\n${wrong.map((m) => `  ${m.lang}: ${m.text} → ${detectLanguage(m.text)}`).join('\n')}`);
    expect(1 - wrong.length / single.length).toBeGreaterThanOrEqual(0.9);
  });

  it('ships an rg_ack reply in ru, uz and en that promises a specialist and a pause, also to a relative', () => {
    expect(pickReply(shipped.replies, 'rg_ack', 'ru')).toMatch(/специалист.*приостановить/su);
    expect(pickReply(shipped.replies, 'rg_ack', 'uz')).toMatch(/mutaxassis.*toʻxtatib/su);
    expect(pickReply(shipped.replies, 'rg_ack', 'en')).toMatch(/specialist.*pause your account/su);
    // A relative writes too (family 7): the reply has a word for them.
    expect(pickReply(shipped.replies, 'rg_ack', 'ru')).toMatch(/близком человеке/u);
    expect(pickReply(shipped.replies, 'rg_ack', 'uz')).toMatch(/yaqin insoningiz haqida/u);
    expect(pickReply(shipped.replies, 'rg_ack', 'en')).toMatch(/someone close to you/u);
  });

  it('sets the message\'s player id (untrusted) from the text, which the ticket\'s player field shows; and a subject on first messages', () => {
    const d = classify({ text: 'ID 4455667 вывод не пришел', topic: 'payments', lang: 'ru' });
    // One value: the decision's player id, untrusted (typed by anyone, it links nothing), not a field of its own.
    expect(d.player).toEqual({ id: '4455667', trusted: false, rule: 'player-id-from-text' });
    expect(d.fields.player_id).toBeUndefined();
    const identity = { ticketFieldMapped: true, options: { ticketField: 'player_id' } } as unknown as IdentityService;
    expect(playerField(identity, undefined, d)).toEqual({ player_id: '4455667' });
    // The customer's own player id (linked before) wins over a typed one.
    expect(playerField(identity, { playerId: '1001' }, d)).toEqual({ player_id: '1001' });
    expect(d.subject).toBe('[telegram] ID 4455667 вывод не пришел');
    expect(d.tags).toEqual(['payments', 'withdrawal']);
    const rg = classify({ text: 'логин: 99887766 прошу самоисключение', topic: 'responsible_gaming', lang: 'ru' });
    expect(rg.player?.id).toBe('99887766');
  });
});

describe.runIf(FRESH.length > 0)('shipped iGaming rules on messages they were not tuned on', () => {
  it.each(FRESH)('reports accuracy on %s', (file) => {
    const accuracy = report(file, loadLabeled(file));
    // Reported, not gated at the goal: this measures generalization (first scores of earlier
    // fresh sets: 49–98%, see docs/rules.md). Only a collapse fails the build.
    expect(accuracy).toBeGreaterThan(0.6);
  });
});

describe('withdrawals in Uzbek, either script', () => {
  it('routes every form of yechmoq to withdrawal, Latin and Cyrillic alike, but not yechim (a solution)', () => {
    const withdrawal = ['Pulimni yecha olmayapman', 'Пулимни ечиб ололмаяпман', 'pulimni yecholmayapman', 'пулимни ечолмаяпман', 'pul yechdim, kelmadi', 'пул ечдим, келмади'];
    for (const text of withdrawal) expect(classify({ text, topic: 'payments', lang: 'uz' }).tags, text).toEqual(['payments', 'withdrawal']);
    expect(classify({ text: 'muammoga yechim topilmadi', topic: 'other', lang: 'uz' }).tags).not.toContain('withdrawal');
    expect(classify({ text: 'муаммога ечим топилмади', topic: 'other', lang: 'uz-cyrl' }).tags).not.toContain('withdrawal');
  });
});
