import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { AcceptOutcome } from '../../src/core/connector.ts';
import type { NewJob } from '../../src/core/jobs.ts';
import { ROUND_THE_CLOCK, type BusinessCalendar } from '../../src/core/kpi/business-time.ts';
import { calendarOf, KpiSection, SlaSection, weekFromHours } from '../../src/core/kpi/config.ts';
import { onAgentReply, onCustomerMessage, onSolved, type CustomerMessage, type ResponseSample, type TimingStore } from '../../src/core/kpi/record.ts';
import { buildReport, change, percentile } from '../../src/core/kpi/report.ts';
import { createConversationTiming } from '../../src/core/kpi/timing.ts';
import { createSlaWatch, dueStage } from '../../src/core/kpi/watch.ts';
import type { Decision } from '../../src/core/rules/schema.ts';
import { openDatabase } from '../../src/runtime/embedded/database.ts';
import { createEmbeddedTimingStore } from '../../src/runtime/embedded/timing-store.ts';
import { silent } from '../fixtures/log.ts';

const MIN = 60_000;
const T0 = Date.UTC(2025, 4, 5, 10, 0); // a Monday, 10:00 UTC
const decision = (d: Partial<Decision> = {}): Decision => ({ tags: [], fields: {}, replies: [], notify: [], firedRules: [], ...d });
let messageSeq = 0;
const msg = (at: number, o: Partial<CustomerMessage> = {}): CustomerMessage =>
  ({ ticketId: '7', messageId: `m${++messageSeq}`, channel: 'telegram', topic: 'payments', priority: 'high', group: 'payments', at, targetMs: 5 * MIN, ...o });

const root = mkdtempSync(join(tmpdir(), 'switchboard-kpi-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
/** The embedded store's real timing table, in a fresh file. */
const freshStore = (): TimingStore => createEmbeddedTimingStore(openDatabase(join(root, String(++n))));

describe('a conversation’s clock', () => {
  it('runs from the first customer message to the first agent reply; later waits count as replies', () => {
    let r = onCustomerMessage(undefined, msg(T0));
    r = onCustomerMessage(r, msg(T0 + 2 * MIN)); // a second message while waiting: the clock keeps its start
    expect(r.unanswered[0]).toBe(T0);
    expect(r.watchFrom).toBe(T0);
    const first = onAgentReply(r, { commentId: 'c1', at: T0 + 4 * MIN }, ROUND_THE_CLOCK)!;
    expect(first.sample).toMatchObject({ kind: 'first', calendarMs: 4 * MIN, businessMs: 4 * MIN, targetMs: 5 * MIN });
    expect(first.record.unanswered).toEqual([]);
    expect(first.record.watchFrom).toBeUndefined();

    r = onCustomerMessage(first.record, msg(T0 + 10 * MIN));
    const second = onAgentReply(r, { commentId: 'c2', at: T0 + 13 * MIN }, ROUND_THE_CLOCK)!;
    expect(second.sample).toMatchObject({ kind: 'reply', businessMs: 3 * MIN });
    expect(second.record.replyBusinessMs).toEqual([3 * MIN]);
    expect(second.record.firstResponse?.businessMs).toBe(4 * MIN);
  });

  it('the same comment seen twice (a retried reply job) counts once, and never stops a later wait', () => {
    const r = onAgentReply(onCustomerMessage(undefined, msg(T0)), { commentId: 'c1', at: T0 + MIN }, ROUND_THE_CLOCK)!.record;
    const waiting = onCustomerMessage(r, msg(T0 + 5 * MIN));
    expect(onAgentReply(waiting, { commentId: 'c1', at: T0 + MIN }, ROUND_THE_CLOCK)).toBeUndefined();
  });

  it('the same customer message seen twice (a retried delivery after the agent answered) does not restart the clock', () => {
    const first = msg(T0);
    const answered = onAgentReply(onCustomerMessage(undefined, first), { commentId: 'c1', at: T0 + MIN }, ROUND_THE_CLOCK)!.record;
    expect(onCustomerMessage(answered, first)).toBe(answered);
    expect(answered.unanswered).toEqual([]);
  });

  it('a reply written before a later message answers only what came before it; the later message keeps waiting', () => {
    // Message at 0, message at 3, reply written at 2 but processed after the second message.
    const r = onCustomerMessage(onCustomerMessage(undefined, msg(T0)), msg(T0 + 3 * MIN));
    const out = onAgentReply(r, { commentId: 'c1', at: T0 + 2 * MIN }, ROUND_THE_CLOCK)!;
    expect(out.sample?.businessMs).toBe(2 * MIN);
    expect(out.record.unanswered).toEqual([T0 + 3 * MIN]);
    expect(out.record.watchFrom).toBe(T0 + 3 * MIN);
  });

  it('a reply stamped in the same second as the message (whole-second clocks) answers it', () => {
    const r = onCustomerMessage(undefined, msg(T0 + 400));
    expect(onAgentReply(r, { commentId: 'c1', at: T0 }, ROUND_THE_CLOCK)?.sample?.businessMs).toBe(0);
  });

  it('a raised priority brings its stricter target; the topic and group are the first the rules named', () => {
    let r = onCustomerMessage(undefined, msg(T0, { topic: 'other', priority: 'normal', group: 'none', targetMs: 10 * MIN }));
    r = onCustomerMessage(r, msg(T0 + MIN, { topic: 'kyc', priority: 'urgent', group: 'compliance', targetMs: 2 * MIN }));
    expect(r).toMatchObject({ topic: 'kyc', priority: 'urgent', group: 'compliance', targetMs: 2 * MIN });
    r = onCustomerMessage(r, msg(T0 + 2 * MIN, { topic: 'bonus', priority: 'low', group: 'payments', targetMs: 30 * MIN }));
    expect(r).toMatchObject({ topic: 'kyc', priority: 'urgent', group: 'compliance', targetMs: 2 * MIN });
  });

  it('solved without a reply: the wait ends and the watch stops looking; the customer writing again starts a new wait', () => {
    const waiting = onCustomerMessage(onCustomerMessage(undefined, msg(T0)), msg(T0 + MIN));
    const solved = onSolved(waiting, T0 + 2 * MIN)!;
    expect(solved).toMatchObject({ solvedAt: T0 + 2 * MIN, solvedFirstAt: T0 + 2 * MIN });
    expect(solved.watchFrom).toBeUndefined();
    expect(dueStage(solved, T0 + 1000 * MIN, ROUND_THE_CLOCK, 0.5)).toBeUndefined();
    // Zendesk sends the event again: the first time stands.
    expect(onSolved(solved, T0 + 9 * MIN)).toBeUndefined();

    const again = onCustomerMessage(solved, msg(T0 + 30 * MIN));
    expect(again.unanswered).toEqual([T0 + 30 * MIN]);
    expect(again.watchFrom).toBe(T0 + 30 * MIN);
    expect(again.solvedAt).toBeUndefined();
    expect(dueStage(again, T0 + 36 * MIN, ROUND_THE_CLOCK, undefined)).toMatchObject({ stage: 'breach', since: T0 + 30 * MIN, businessMs: 6 * MIN });
    // Nobody answered the first wait: the reply to the new one is a reply time from the new message, not a first response.
    const answered = onAgentReply(again, { commentId: 'c1', at: T0 + 40 * MIN }, ROUND_THE_CLOCK)!;
    expect(answered.sample).toMatchObject({ kind: 'reply', businessMs: 10 * MIN });
    expect(answered.record.firstResponse).toBeUndefined();
  });

  it('a public reply the helpdesk reports after the solve it came with is still the first response', () => {
    const solved = onSolved(onCustomerMessage(undefined, msg(T0)), T0 + 3 * MIN)!;
    const answered = onAgentReply(solved, { commentId: 'c1', at: T0 + 3 * MIN }, ROUND_THE_CLOCK)!;
    expect(answered.sample).toMatchObject({ kind: 'first', businessMs: 3 * MIN });
    expect(answered.record.unanswered).toEqual([]);
    expect(answered.record.solvedAt).toBeUndefined();
    // Solved after an answer, with nothing waiting: nothing to stop.
    expect(onSolved(answered.record, T0 + 4 * MIN)).toBeUndefined();
  });

  it('no target: timed, but the SLA watch never looks at it', () => {
    const r = onCustomerMessage(undefined, msg(T0, { targetMs: undefined }));
    expect(r.watchFrom).toBeUndefined();
    expect(dueStage(r, T0 + 1000 * MIN, ROUND_THE_CLOCK, 0.5)).toBeUndefined();
  });
});

describe('recording timings through the store', () => {
  const sla = SlaSection.parse({ targets: { channels: { telegram: '5m' }, priorities: { urgent: '2m' } } });
  const kpi = KpiSection.parse({});

  it('two processes recording a message and a reply of one ticket at once lose neither (compare-and-set)', async () => {
    const store = freshStore();
    const observed: ResponseSample[] = [];
    const timing = createConversationTiming({ store, kpi, sla, calendar: ROUND_THE_CLOCK, groups: ['payments'], observe: (s) => observed.push(s), log: silent });
    await timing.customerMessage({ messageId: 'in1', ticketId: '9', channel: 'telegram', at: T0, decision: decision({ tags: ['payments'], priority: 'high', group: 'payments' }) });
    await Promise.all([
      timing.agentReply({ ticketId: '9', commentId: 'c1', at: T0 + 3 * MIN }),
      timing.customerMessage({ messageId: 'in2', ticketId: '9', channel: 'telegram', at: T0 + 4 * MIN, decision: decision() }),
      ...Array.from({ length: 5 }, () => timing.agentReply({ ticketId: '9', commentId: 'c1', at: T0 + 3 * MIN })),
    ]);
    const stored = (await store.get('9'))!;
    expect(observed).toEqual([expect.objectContaining({ kind: 'first', businessMs: 3 * MIN, targetMs: 5 * MIN })]);
    expect(stored.record.unanswered).toEqual([T0 + 4 * MIN]);
    expect(stored.record).toMatchObject({ channel: 'telegram', topic: 'payments', priority: 'high', group: 'payments', watchFrom: T0 + 4 * MIN });
  });

  it('labels stay bounded: unknown topics are "other", unmapped groups "other", no priority "none"; the stricter target wins', async () => {
    const store = freshStore();
    const timing = createConversationTiming({ store, kpi: KpiSection.parse({ topics: ['refund'] }), sla, calendar: ROUND_THE_CLOCK, groups: ['payments'], log: silent });
    await timing.customerMessage({ messageId: 'in3', ticketId: '1', channel: 'telegram', at: T0, decision: decision({ tags: ['payments', 'refund'], group: 'vip', priority: 'urgent' }) });
    await timing.customerMessage({ messageId: 'in4', ticketId: '2', channel: 'email', at: T0, decision: decision({ tags: ['kyc'] }) });
    expect((await store.get('1'))!.record).toMatchObject({ topic: 'refund', group: 'other', priority: 'urgent', targetMs: 2 * MIN });
    expect((await store.get('2'))!.record).toMatchObject({ topic: 'other', group: 'none', priority: 'none' });
    expect((await store.get('2'))!.record.targetMs).toBeUndefined();
  });

  it("a customer's follow-ups are one write each, not a read and a write; a record another process wrote meanwhile is read afresh and kept", async () => {
    const real = freshStore();
    let reads = 0;
    const store: TimingStore = { ...real, get: (id) => (reads++, real.get(id)) };
    const timing = createConversationTiming({ store, kpi, sla, calendar: ROUND_THE_CLOCK, groups: ['payments'], log: silent });
    const message = (id: string, at: number) => timing.customerMessage({ messageId: id, ticketId: '5', channel: 'telegram', at, decision: decision({ priority: 'high' }) });
    await message('f1', T0);
    await message('f2', T0 + MIN);
    await message('f3', T0 + 2 * MIN);
    expect(reads).toBe(1);
    // Another process (an agent's reply through another worker) writes in between.
    const other = createConversationTiming({ store: real, kpi, sla, calendar: ROUND_THE_CLOCK, groups: ['payments'], log: silent });
    await other.agentReply({ ticketId: '5', commentId: 'c1', at: T0 + 3 * MIN });
    await message('f4', T0 + 4 * MIN);
    // A retried delivery of a message already recorded changes nothing, on what is stored.
    await message('f4', T0 + 4 * MIN);
    const stored = (await real.get('5'))!;
    expect(stored.record.messages).toEqual(['f1', 'f2', 'f3', 'f4']);
    expect(stored.record.replies).toHaveLength(1);
    expect(stored.record.unanswered).toEqual([T0 + 4 * MIN]);
  });

  it('a reply or a solve of a ticket from before anything was measured records nothing', async () => {
    const store = freshStore();
    const timing = createConversationTiming({ store, kpi, sla, calendar: ROUND_THE_CLOCK, groups: [], log: silent });
    await timing.agentReply({ ticketId: '404', commentId: 'c', at: T0 });
    await timing.solved(['404'], T0);
    expect(await store.get('404')).toBeUndefined();
  });
});

describe('the SLA watch', () => {
  const cal: BusinessCalendar = { zone: 'UTC', week: weekFromHours({ 'mon-fri': [9 * 60, 18 * 60] }), holidays: new Set(['2025-05-09']) };
  const sla = SlaSection.parse({ targets: { channels: { telegram: '5m' } }, warnAt: 0.6, notify: ['slack:leads'], tag: 'late_reply' });
  let store: TimingStore;
  let jobs: NewJob[];
  const ledger = new Set<string>();
  const enqueue = async (batch: NewJob[]): Promise<AcceptOutcome[]> => {
    jobs.push(...batch.filter((j) => !ledger.has(j.dedupeKey)));
    return batch.map((j) => {
      const duplicate = ledger.has(j.dedupeKey);
      ledger.add(j.dedupeKey);
      return { id: j.dedupeKey, dedupeKey: j.dedupeKey, duplicate };
    });
  };
  const watchAt = (clock: { now: number }, s: TimingStore = store) =>
    createSlaWatch({ store: s, enqueue, sla, calendar: cal, channelKinds: new Map([['telegram', 'telegram']]), keepDays: 190, now: () => clock.now, log: silent });

  beforeEach(() => {
    store = freshStore();
    jobs = [];
    ledger.clear();
  });

  it('warns at the share, breaches at the target: one tag and one notice each, however many rounds run, in two watchers', async () => {
    await store.put(onCustomerMessage(undefined, msg(T0, { ticketUrl: 'https://acme.zendesk.com/agent/tickets/7' })), 0);
    const clock = { now: T0 + 2 * MIN };
    const a = watchAt(clock);
    const b = watchAt(clock);
    expect(await a.tick()).toBe(0);

    clock.now = T0 + 3 * MIN; // 60% of 5 minutes
    await Promise.all([a.tick(), b.tick(), a.tick()]);
    expect(jobs.map((j) => j.payload.kind)).toEqual(['notice']);
    const warning = jobs[0]!.payload;
    expect(warning.kind === 'notice' && warning.notice.headline).toBe('SLA warning: the customer has waited 3m in business hours for a first reply; the 5m target is reached in 2m');

    clock.now = T0 + 5 * MIN;
    await Promise.all([a.tick(), b.tick()]);
    await a.tick();
    expect(jobs.map((j) => j.payload.kind)).toEqual(['notice', 'tag', 'notice']);
    expect(jobs[1]).toMatchObject({ lane: 'ticket:7', target: 'helpdesk', payload: { kind: 'tag', ticketId: '7', tags: ['late_reply'] } });
    expect(jobs[2]).toMatchObject({
      lane: 'notify:slack:leads',
      target: 'notifier:slack',
      payload: { kind: 'notice', target: 'slack:leads', notice: { ticketId: '7', ticketUrl: 'https://acme.zendesk.com/agent/tickets/7', priority: 'high', tags: ['payments', 'late_reply'], channel: { id: 'telegram', kind: 'telegram' } } },
    });
    const stored = (await store.get('7'))!.record;
    expect(stored).toMatchObject({ breaches: 1, breachedFor: T0, warnedFor: T0 });
    expect(stored.watchFrom).toBeUndefined();
    expect(await store.watched(10)).toEqual([]);
  });

  it('a new wait after an agent reply is a new breach', async () => {
    let r = onCustomerMessage(undefined, msg(T0));
    await store.put(r, 0);
    const clock = { now: T0 + 6 * MIN };
    await watchAt(clock).tick();
    r = onAgentReply((await store.get('7'))!.record, { commentId: 'c1', at: T0 + 7 * MIN }, cal)!.record;
    r = onCustomerMessage(r, msg(T0 + 8 * MIN));
    await store.put(r, (await store.get('7'))!.version);
    clock.now = T0 + 14 * MIN;
    await watchAt(clock).tick();
    expect(jobs.filter((j) => j.payload.kind === 'tag').map((j) => j.dedupeKey)).toEqual([`sla:breach:7:${T0}:tag`, `sla:breach:7:${T0 + 8 * MIN}:tag`]);
    expect(jobs.filter((j) => j.payload.kind === 'notice' && j.payload.notice.headline?.startsWith('SLA breached'))).toHaveLength(2);
    const last = jobs.at(-1)!.payload;
    expect(last.kind === 'notice' && last.notice.headline).toContain('for a reply;');
  });

  it('outside business hours the clock stands still: a Thursday-evening message is not late on a holiday or over the weekend', async () => {
    const thursday = DateTime.fromISO('2025-05-08T17:56', { zone: 'UTC' }).toMillis(); // Friday is a holiday
    await store.put(onCustomerMessage(undefined, msg(thursday)), 0);
    const clock = { now: DateTime.fromISO('2025-05-11T23:00', { zone: 'UTC' }).toMillis() }; // Sunday night
    expect(await watchAt(clock).tick()).toBe(1); // 4 business minutes of 5: past the 60% warning share, not late
    expect(jobs.map((j) => j.payload.kind)).toEqual(['notice']);
    clock.now = DateTime.fromISO('2025-05-12T09:00:59', { zone: 'UTC' }).toMillis();
    expect(await watchAt(clock).tick()).toBe(0);
    clock.now = DateTime.fromISO('2025-05-12T09:01', { zone: 'UTC' }).toMillis(); // 4 + 1 = 5 business minutes
    expect(await watchAt(clock).tick()).toBe(1);
    expect(jobs.map((j) => j.payload.kind)).toEqual(['notice', 'tag', 'notice']);
    const breach = jobs[2]!.payload;
    expect(breach.kind === 'notice' && breach.notice.headline).toMatch(/^SLA breached: the customer has waited 5m in business hours \(3d 15h in all\) for a first reply; target 5m$/);
  });

  it('a ticket solved without a reply is neither warned about nor breached, also when the solve lands during a round; one left waiting next to it is', async () => {
    const timing = createConversationTiming({ store, kpi: KpiSection.parse({}), sla, calendar: cal, groups: [], log: silent });
    for (const ticketId of ['7', '8', '9']) await timing.customerMessage({ messageId: `in${ticketId}`, ticketId, channel: 'telegram', at: T0, decision: decision() });
    await timing.solved(['7'], T0 + MIN);
    // Ticket 9 is solved while the round is under way: after the round read the waiting conversations.
    const racing: TimingStore = {
      ...store,
      watched: async (limit) => {
        const snapshot = await store.watched(limit);
        await timing.solved(['9'], T0 + 5 * MIN);
        return snapshot;
      },
    };
    const clock = { now: T0 + 10 * MIN };
    expect(await watchAt(clock, racing).tick()).toBe(1);
    await watchAt(clock).tick();
    expect(jobs.filter((j) => j.payload.kind === 'tag').map((j) => j.dedupeKey)).toEqual([`sla:breach:8:${T0}:tag`]);
    expect(jobs.filter((j) => j.payload.kind === 'notice' && j.payload.notice.ticketId !== '8')).toEqual([]);
    expect((await store.watched(10)).map((v) => v.record.ticketId)).toEqual([]);
  });

  it('an answered conversation is not declared, and old conversations are forgotten once they no longer wait', async () => {
    const answered = onAgentReply(onCustomerMessage(undefined, msg(T0)), { commentId: 'c', at: T0 + MIN }, cal)!.record;
    await store.put(answered, 0);
    await store.put(onCustomerMessage(undefined, msg(T0, { ticketId: '8' })), 0);
    const clock = { now: T0 + 200 * 86_400_000 };
    await watchAt(clock).tick();
    expect(jobs.filter((j) => j.payload.kind === 'tag').map((j) => (j.payload as { ticketId: string }).ticketId)).toEqual(['8']);
    // The first round already pruned: both opened 200 days ago and neither waits any more.
    expect(await store.get('7')).toBeUndefined();
    expect(await store.get('8')).toBeUndefined();
  });
});

describe('the report', () => {
  const cal = calendarOf(SlaSection.parse({}), 'UTC');
  const answered = (id: string, channel: string, topic: string, firstMin: number, targetMin?: number) =>
    onAgentReply(onCustomerMessage(undefined, msg(T0, { ticketId: id, channel, topic, targetMs: targetMin === undefined ? undefined : targetMin * MIN })), { commentId: `c${id}`, at: T0 + firstMin * MIN }, cal)!.record;

  it('a conversation solved without a reply is not answered; it counts as breached only if it was past its target when solved', () => {
    const waiting = (id: string) => onCustomerMessage(undefined, msg(T0, { ticketId: id, targetMs: 5 * MIN }));
    const current = [onSolved(waiting('s1'), T0 + 3 * MIN)!, onSolved(waiting('s2'), T0 + 8 * MIN)!];
    const report = buildReport({ current, previous: [], from: T0 - 86_400_000, to: T0 + 60 * MIN, now: T0 + 60 * MIN, calendar: cal });
    expect(report.rows.find((r) => r.channel === 'all' && r.topic === 'all')).toMatchObject({ volume: 2, answered: 0, withinSla: 0, breachedSla: 1 });
  });

  it('percentiles are nearest-rank', () => {
    expect(percentile([], 0.5)).toBeUndefined();
    expect(percentile([5, 1, 3], 0.5)).toBe(3);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toBe(9);
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
  });

  it('volume, median and p90 first response and share within SLA by channel and topic; contact reasons against the period before', () => {
    const current = [
      answered('1', 'telegram', 'payments', 2, 5),
      answered('2', 'telegram', 'payments', 4, 5),
      answered('3', 'telegram', 'payments', 10, 5),
      answered('4', 'email', 'kyc', 60, 120),
      onCustomerMessage(undefined, msg(T0, { ticketId: '5', channel: 'telegram', topic: 'bonus', targetMs: 5 * MIN })), // waiting 30m: breached
      onCustomerMessage(undefined, msg(T0 + 28 * MIN, { ticketId: '6', channel: 'telegram', topic: 'bonus', targetMs: 5 * MIN })), // waiting 2m: pending
    ];
    const previous = [answered('p1', 'telegram', 'payments', 1), answered('p2', 'email', 'kyc', 1), answered('p3', 'email', 'kyc', 1), answered('p4', 'email', 'bets', 1)];
    const report = buildReport({ current, previous, from: T0 - 86_400_000, to: T0 + 30 * MIN, now: T0 + 30 * MIN, calendar: cal });
    const row = (c: string, t: string) => report.rows.find((r) => r.channel === c && r.topic === t);
    expect(row('telegram', 'payments')).toMatchObject({ volume: 3, previous: 1, answered: 3, medianFirstMs: 4 * MIN, p90FirstMs: 10 * MIN, withinSla: 2, breachedSla: 1 });
    expect(row('telegram', 'bonus')).toMatchObject({ volume: 2, answered: 0, withinSla: 0, breachedSla: 1 });
    expect(row('telegram', 'bonus')!.medianFirstMs).toBeUndefined();
    expect(row('all', 'all')).toMatchObject({ volume: 6, previous: 4, answered: 4, withinSla: 3, breachedSla: 2 });
    expect(row('all', 'kyc')).toMatchObject({ volume: 1, previous: 2 });
    expect(row('all', 'bets')).toMatchObject({ volume: 0, previous: 1 });
    // Topics over all channels by volume, biggest first.
    expect(report.rows.filter((r) => r.channel === 'all' && r.topic !== 'all').map((r) => r.topic)).toEqual(['payments', 'bonus', 'kyc', 'bets']);
    expect([change(3, 1), change(1, 2), change(0, 1), change(2, 0), change(0, 0), change(2, 2)]).toEqual(['+200%', '-50%', '-100%', 'new', '=', '=']);
  });
});
