import { afterEach, describe, expect, it } from 'vitest';
import type { AttemptContext } from '../../src/core/connector.ts';
import { DeliveryError, NotYet } from '../../src/core/errors.ts';
import type { Job, Link, NewJob, Throttled } from '../../src/core/jobs.ts';
import { onCustomerMessage, type TimingRecord } from '../../src/core/kpi/record.ts';
import { updateRecord } from '../../src/core/kpi/timing.ts';
import type { Pipeline } from '../../src/core/pipeline.ts';
import type { Runtime } from '../../src/runtime/runtime.ts';
import { newCustomer, planLink } from '../../src/core/identity/customer.ts';
import { DEFAULT_RETENTION, type Retention } from '../../src/core/retention.ts';
import { waitFor } from '../fixtures/wait.ts';

/**
 * What every runtime (embedded, Redis) must do, written once. A runtime is done when
 * this suite passes against it. `open` may be called again with the same `name` to
 * reopen the same durable state (a restart).
 */
export interface OpenOptions {
  maxAttempts?: number;
  concurrency?: number;
  floodLimit?: { messages: number; perSeconds: number };
  retention?: Readonly<Retention>;
}

export interface RuntimeFactory {
  open(name: string, opts?: OpenOptions): Promise<Runtime>;
  cleanup(): Promise<void>;
  /**
   * Several runtimes opened with the same name at once share their state, as gateway
   * processes on one Redis do. The embedded store is one process by design (the gateway
   * refuses `--role ingress|worker` on it), so it leaves this out and the
   * multi-process cases do not apply to it.
   */
  sharedState?: boolean;
}

interface Recorded {
  payload: string;
  lane: string;
  ctx: AttemptContext;
  at: number;
  batch: number;
  throttled?: Throttled;
}

type Behaviour = (job: Job, ctx: AttemptContext) => Promise<void> | void;

function recordingPipeline(behave: Behaviour = () => {}, giveUp: (job: Job) => NewJob[] = () => []): Pipeline & { runs: Recorded[]; gaveUp: string[] } {
  const runs: Recorded[] = [];
  const gaveUp: string[] = [];
  return {
    runs,
    gaveUp,
    async run(jobs, ctx) {
      const head = jobs[0]!;
      runs.push({ payload: noteText(head), lane: head.lane, ctx, at: Date.now(), batch: jobs.length, throttled: head.throttled });
      await behave(head, ctx);
    },
    // A note's text says its priority: "urgent:…", "high:…", anything else is normal.
    async classify(job) {
      const text = noteText(job);
      return text.startsWith('urgent:') ? 'urgent' : text.startsWith('high:') ? 'high' : undefined;
    },
    onGiveUp(job) {
      gaveUp.push(noteText(job));
      return giveUp(job);
    },
  };
}

/** A conversation's timing record as the pipeline writes it: waiting since `at` unless `answered`. */
function timing(ticketId: string, at: number, o: { answered?: boolean } = {}): TimingRecord {
  const r = onCustomerMessage(undefined, { ticketId, messageId: `m-${ticketId}-${at}`, channel: 'telegram', topic: 'payments', priority: 'high', group: 'payments', at, targetMs: 300_000 });
  if (!o.answered) return r;
  const { watchFrom: _w, ...rest } = r;
  return { ...rest, unanswered: [], firstResponse: { at: at + 1000, calendarMs: 1000, businessMs: 1000 } };
}

function noteText(job: Job): string {
  return job.payload.kind === 'note' ? job.payload.text : job.payload.kind;
}

export function note(lane: string, text: string, dedupeKey = `k:${lane}:${text}`, target = 'helpdesk', batchKey?: string): NewJob {
  return { dedupeKey, lane, target, batchKey, payload: { kind: 'note', ticketId: '1', text } };
}

/** The link of Telegram chat `chat` to ticket `ticketId`. */
function aLink(chat: string, ticketId: string): Link {
  return {
    conversationKey: `telegram:${chat}`,
    channelId: 'telegram',
    ticketId,
    requesterId: '5',
    conversation: { channelId: 'telegram', externalId: chat, sender: { externalId: chat } },
    createdAt: Date.now(),
    firedRules: [],
  };
}

/** A customer's message in lane `lane`, from `sender` (the flood limit counts per sender). */
function from(sender: string, lane: string, text: string): NewJob {
  return { ...note(lane, text), sender };
}

/** The shared wait (one deadline for every wait, for a loaded machine), for probes that need no name. */
const until = <T>(probe: () => T | undefined | false | Promise<T | undefined | false>): Promise<T> => waitFor('the runtime to reach the state the test expects', probe);

export function runtimeConformance(label: string, factory: RuntimeFactory): void {
  describe(`runtime conformance: ${label}`, () => {
    const open: Runtime[] = [];
    const start = async (name: string, opts?: OpenOptions) => {
      const rt = await factory.open(name, opts);
      open.push(rt);
      return rt;
    };
    afterEach(async () => {
      for (const rt of open.splice(0)) await rt.close(1000).catch(() => undefined);
      await factory.cleanup();
    });

    it('dedupes concurrent duplicates: one job, the others reported as duplicates', async () => {
      const rt = await start('dedupe');
      const outcomes = await Promise.all(Array.from({ length: 10 }, () => rt.enqueue([note('a', 'same', 'dup-key')])));
      const flat = outcomes.flat();
      expect(flat.filter((o) => !o.duplicate)).toHaveLength(1);
      expect(new Set(flat.map((o) => o.id)).size).toBe(1);
      const p = recordingPipeline();
      rt.startWorker(p);
      await until(() => p.runs.length === 1);
      // A later job in the same lane runs after anything queued before it: once it has run, a second copy would have too.
      await rt.enqueue([note('a', 'later')]);
      await until(() => p.runs.some((r) => r.payload === 'later'));
      expect(p.runs.filter((r) => r.payload === 'same')).toHaveLength(1);
      // Still a duplicate after the job finished: a late redelivery is a no-op too.
      expect((await rt.enqueue([note('a', 'same', 'dup-key')]))[0]!.duplicate).toBe(true);
    });

    it('keeps order within a lane and runs lanes in parallel', async () => {
      const rt = await start('order', { concurrency: 4 });
      const inFlight = new Set<string>();
      let maxParallel = 0;
      const p = recordingPipeline(async (job) => {
        expect(inFlight.has(job.lane)).toBe(false);
        inFlight.add(job.lane);
        maxParallel = Math.max(maxParallel, inFlight.size);
        await new Promise((r) => setTimeout(r, 30));
        inFlight.delete(job.lane);
      });
      const jobs: NewJob[] = [];
      for (let i = 0; i < 5; i++) for (const lane of ['x', 'y', 'z']) jobs.push(note(lane, `${lane}${i}`));
      await rt.enqueue(jobs);
      rt.startWorker(p);
      await until(() => p.runs.length === 15);
      for (const lane of ['x', 'y', 'z']) {
        expect(p.runs.filter((r) => r.lane === lane).map((r) => r.payload)).toEqual([0, 1, 2, 3, 4].map((i) => `${lane}${i}`));
      }
      expect(maxParallel).toBeGreaterThan(1);
    });

    it('retries with backoff; a failing head holds its lane but not the others', async () => {
      const rt = await start('retry');
      let failures = 0;
      const p = recordingPipeline((job) => {
        if (noteText(job) === 'a1' && failures < 2) {
          failures++;
          throw new DeliveryError('helpdesk down', { kind: 'retry', status: 503 });
        }
      });
      await rt.enqueue([note('a', 'a1'), note('a', 'a2'), note('b', 'b1')]);
      rt.startWorker(p);
      await until(() => p.runs.filter((r) => r.payload === 'a2').length === 1);
      const order = p.runs.map((r) => r.payload);
      expect(order.filter((x) => x === 'a1')).toHaveLength(3);
      expect(order.indexOf('a2')).toBeGreaterThan(order.lastIndexOf('a1'));
      expect(order.indexOf('b1')).toBeLessThan(order.lastIndexOf('a1'));
      const a1 = p.runs.filter((r) => r.payload === 'a1');
      expect(a1.map((r) => r.ctx.attempt)).toEqual([1, 2, 3]);
      // The second wait is at least the base delay (40 ms in both factories; jitter keeps 50-100%
      // of base × 2^(failures-1)): a lower bound, which a loaded machine only makes longer.
      expect(a1[2]!.at - a1[1]!.at).toBeGreaterThanOrEqual(40 - 1);
      expect(a1[1]!.at - a1[0]!.at).toBeGreaterThanOrEqual(20 - 1);
    });

    it('honours Retry-After: a rate-limited target waits, other targets do not', async () => {
      const rt = await start('retry-after');
      let limited = false;
      const p = recordingPipeline((job) => {
        if (job.target === 'helpdesk' && !limited) {
          limited = true;
          throw new DeliveryError('429', { kind: 'rate_limited', status: 429, retryAfterMs: 600 });
        }
      });
      await rt.enqueue([note('h1', 'h1')]);
      rt.startWorker(p);
      await until(() => p.runs.length === 1);
      const refusedAt = Date.now();
      // Work arriving during the pause: the helpdesk's waits, the channel's goes at once.
      await rt.enqueue([note('h2', 'h2'), note('c1', 'c1', 'k-c1', 'channel:tg')]);
      await until(() => p.runs.filter((r) => r.payload === 'h1').length === 2 && p.runs.some((r) => r.payload === 'h2'));
      const second = p.runs.filter((r) => r.payload === 'h1')[1]!;
      expect(second.at - refusedAt).toBeGreaterThanOrEqual(500);
      expect(p.runs.find((r) => r.payload === 'h2')!.at - refusedAt).toBeGreaterThanOrEqual(500);
      // The channel's job did not wait for the helpdesk's pause to end.
      expect(p.runs.findIndex((r) => r.payload === 'c1')).toBeLessThan(p.runs.indexOf(second));
      expect(second.ctx.attempt).toBe(2);
    });

    it('dead-letters a permanent failure with the remote words verbatim, moves the lane on, and replays', async () => {
      const rt = await start('dlq');
      let refuse = true;
      const detail = '{"error":"RecordInvalid","details":{"priority":[{"description":"Priority: is invalid"}]}}';
      const p = recordingPipeline((job) => {
        if (noteText(job) === 'bad' && refuse) throw new DeliveryError('Zendesk refused the ticket', { kind: 'permanent', status: 422, detail });
      });
      await rt.enqueue([note('a', 'bad'), note('a', 'after')]);
      rt.startWorker(p);
      await until(() => p.runs.some((r) => r.payload === 'after'));
      const [dead] = await rt.dlq.list();
      expect(dead).toMatchObject({ error: 'Zendesk refused the ticket', detail, status: 422, lane: 'a' });
      expect(dead!.payload).toEqual({ kind: 'note', ticketId: '1', text: 'bad' });
      expect(p.gaveUp).toEqual(['bad']);
      refuse = false;
      expect(await rt.dlq.replay(dead!.id)).toBe(1);
      await until(() => p.runs.filter((r) => r.payload === 'bad').length === 2);
      await until(async () => (await rt.dlq.list()).length === 0);
    });

    it('a job that is not due yet (NotYet) runs again then, not before, without spending attempts or pausing its target', async () => {
      const rt = await start('not-yet', { maxAttempts: 1 });
      let until_ = 0;
      const p = recordingPipeline((job) => {
        if (noteText(job) !== 'later') return;
        if (until_ === 0) until_ = Date.now() + 700;
        if (Date.now() < until_) throw new NotYet(until_, 'quiet hours');
      });
      await rt.enqueue([note('q', 'later', 'k-later', 'channel:tg')]);
      rt.startWorker(p);
      await until(() => p.runs.length === 1);
      // The same target takes other work meanwhile: it is not paused.
      await rt.enqueue([note('other', 'now', 'k-now', 'channel:tg')]);
      await until(() => p.runs.some((r) => r.payload === 'now'));
      expect(p.runs.filter((r) => r.payload === 'later')).toHaveLength(1);
      await until(() => p.runs.filter((r) => r.payload === 'later').length === 2);
      const [first, second] = p.runs.filter((r) => r.payload === 'later');
      expect(second!.at).toBeGreaterThanOrEqual(until_);
      expect(second!.ctx.reconcile).toBe(false);
      // maxAttempts is 1: had waiting counted as a failure, the first run would have dead-lettered it.
      expect(first!.ctx.idempotencyKey).toBe(second!.ctx.idempotencyKey);
      expect(await rt.dlq.list()).toEqual([]);
    });

    it('gives up after maxAttempts transient failures', async () => {
      const rt = await start('exhaust', { maxAttempts: 3 });
      const p = recordingPipeline(() => {
        throw new DeliveryError('timeout', { kind: 'retry', ambiguous: true });
      });
      await rt.enqueue([note('a', 'never')]);
      rt.startWorker(p);
      const dead = await until(async () => (await rt.dlq.list())[0]);
      expect(p.runs).toHaveLength(3);
      expect(dead.error).toMatch(/gave up after 3 attempts/);
      expect(p.runs[1]!.ctx.reconcile).toBe(true);
      expect(p.runs[0]!.ctx.reconcile).toBe(false);
      expect(new Set(p.runs.map((r) => r.ctx.idempotencyKey)).size).toBe(1);
    });

    it('keeps queued work across a restart, and asks to reconcile a job that was in flight', async () => {
      const rt1 = await start('restart');
      await rt1.enqueue([note('a', 'survives')]);
      const hang = recordingPipeline(() => new Promise<void>(() => {}));
      rt1.startWorker(hang);
      await until(() => hang.runs.length === 1);
      await rt1.close(50); // in flight when the process "dies"
      open.splice(open.indexOf(rt1), 1);
      const rt2 = await start('restart');
      const p = recordingPipeline();
      rt2.startWorker(p);
      await until(() => p.runs.length === 1);
      expect(p.runs[0]!.payload).toBe('survives');
      expect(p.runs[0]!.ctx.reconcile).toBe(true);
      expect((await rt2.enqueue([note('a', 'survives')]))[0]!.duplicate).toBe(true);
    });

    it('delivers consecutive jobs with the same batch key together', async () => {
      const rt = await start('batch');
      await rt.enqueue([note('a', 'p1', 'b1', 'helpdesk', 'album:1'), note('a', 'p2', 'b2', 'helpdesk', 'album:1'), note('a', 'solo', 'b3')]);
      const p = recordingPipeline();
      rt.startWorker(p);
      await until(() => p.runs.length === 2);
      expect(p.runs[0]).toMatchObject({ payload: 'p1', batch: 2 });
      expect(p.runs[1]).toMatchObject({ payload: 'solo', batch: 1 });
    });

    it('stores conversation links, found by conversation and by every ticket it was linked to', async () => {
      const rt = await start('links');
      const link = { ...aLink('1', '10'), firedRules: ['withdrawal'] };
      await rt.links.put(link);
      expect(await rt.links.get('telegram:1')).toEqual(link);
      await rt.links.put({ ...link, ticketId: '11' });
      expect((await rt.links.byTicket('10'))?.ticketId).toBe('11');
      expect((await rt.links.byTicket('11'))?.conversationKey).toBe('telegram:1');
      expect(await rt.links.get('telegram:2')).toBeUndefined();
    });

    it("makes a ticket's latest conversation the one the customer wrote on last, whatever order the writes come in", async () => {
      const rt = await start('latest');
      await rt.links.put({ ...aLink('1', '20'), latestAt: 1000 });
      await rt.links.put({ ...aLink('2', '20'), latestAt: 3000 });
      // Written last, but received before chat 2's message: the ticket stays with chat 2.
      await rt.links.put({ ...aLink('1', '20'), latestAt: 2000 });
      expect((await rt.links.byTicket('20'))?.conversationKey).toBe('telegram:2');
      expect((await rt.links.get('telegram:1'))?.latestAt).toBe(2000);
      await rt.links.put({ ...aLink('1', '20'), latestAt: 4000 });
      expect((await rt.links.byTicket('20'))?.conversationKey).toBe('telegram:1');
    });

    it('keeps a bounded path per conversation, found by customer, chat or ticket id, and across a restart', async () => {
      let rt = await start('conversations');
      const at = Date.now();
      await rt.conversations.record('telegram:777', { at, kind: 'accepted', text: 'вывод не пришёл' }, ['777', 'Azamat_UZ', '+998 90 123-45-67']);
      await rt.conversations.record('telegram:777', { at: at + 1, kind: 'ticket', ticketId: '42', ticketUrl: 'https://acme.zendesk.com/agent/tickets/42' }, ['42']);
      await rt.conversations.record('email:thread-1', { at: at + 2, kind: 'accepted', text: 'KYC' }, ['player@example.com', '42']);
      await until(async () => (await rt.conversations.events('telegram:777')).length === 2);
      expect((await rt.conversations.events('telegram:777')).map((e) => [e.kind, e.ticketId])).toEqual([['accepted', undefined], ['ticket', '42']]);
      // Without case, with the usual prefixes, a phone number written any way, the key itself.
      expect(await rt.conversations.find('@azamat_uz')).toEqual(['telegram:777']);
      expect(await rt.conversations.find('998901234567')).toEqual(['telegram:777']);
      expect(await rt.conversations.find('PLAYER@example.com')).toEqual(['email:thread-1']);
      expect(await rt.conversations.find('#42')).toEqual(['email:thread-1', 'telegram:777']);
      expect(await rt.conversations.find('telegram:777')).toEqual(['telegram:777']);
      expect(await rt.conversations.find('nobody')).toEqual([]);
      // Bounded: only the newest events of a long conversation stay.
      for (let i = 0; i < 120; i++) await rt.conversations.record('telegram:9', { at: at + i, kind: 'note', text: `n${i}` });
      await until(async () => (await rt.conversations.events('telegram:9')).at(-1)?.text === 'n119');
      const kept = await rt.conversations.events('telegram:9');
      expect(kept).toHaveLength(100);
      expect(kept[0]!.text).toBe('n20');
      await rt.close(1000);
      rt = await start('conversations');
      expect(await rt.conversations.events('telegram:777')).toHaveLength(2);
    });

    it('reports queue depth, dead letters and the age of the oldest waiting job', async () => {
      const rt = await start('stats');
      await rt.enqueue([note('a', 'a1'), note('a', 'a2'), note('b', 'b1')]);
      // The oldest job's age grows while nobody works.
      const waiting = await until(async () => {
        const s = await rt.stats();
        return s.oldestQueuedMs >= 50 && s;
      });
      expect(waiting).toMatchObject({ queued: 3, dead: 0, inFlight: 0 });
      const p = recordingPipeline((job) => {
        if (noteText(job) === 'b1') throw new DeliveryError('refused', { kind: 'permanent', status: 400 });
      });
      rt.startWorker(p);
      await until(async () => (await rt.stats()).queued === 0);
      expect(await rt.stats()).toMatchObject({ queued: 0, dead: 1, oldestQueuedMs: 0 });
    });

    it('writes what a delivery leaves (the link, follow-up work) with its completion', async () => {
      const rt = await start('outcome');
      const link = aLink('9', '90');
      const p = recordingPipeline();
      const run = p.run.bind(p);
      p.run = async (jobs, ctx) => {
        await run(jobs, ctx);
        return noteText(jobs[0]!) === 'first' ? { link, enqueue: [note('after', 'follow-up')] } : undefined;
      };
      await rt.enqueue([note('in', 'first')]);
      rt.startWorker(p);
      await until(() => p.runs.some((r) => r.payload === 'follow-up'));
      expect(await rt.links.get('telegram:9')).toEqual(link);
      expect((await rt.links.byTicket('90'))?.conversationKey).toBe('telegram:9');
    });

    it('enqueues the follow-up work of a dead-lettered job (the agent is told)', async () => {
      const rt = await start('giveup');
      const p = recordingPipeline(
        (job) => {
          if (noteText(job) === 'reply') throw new DeliveryError('chat not found', { kind: 'permanent', status: 400, detail: 'Bad Request: chat not found' });
        },
        (job) => [note('t', `not delivered: ${noteText(job)}`, `giveup:${job.dedupeKey}`)],
      );
      await rt.enqueue([note('out', 'reply')]);
      rt.startWorker(p);
      await until(() => p.runs.some((r) => r.payload === 'not delivered: reply'));
      expect((await rt.dlq.list()).map((d) => d.detail)).toEqual(['Bad Request: chat not found']);
    });

    it('lets a job in flight finish on a graceful shutdown; it does not run again after a restart', async () => {
      const rt1 = await start('graceful');
      await rt1.enqueue([note('a', 'slow'), note('b', 'quick')]);
      const slow = recordingPipeline((job) => (noteText(job) === 'slow' ? new Promise((r) => setTimeout(r, 300)) : undefined));
      rt1.startWorker(slow);
      await until(() => slow.runs.some((r) => r.payload === 'slow'));
      await rt1.close(5000);
      open.splice(open.indexOf(rt1), 1);
      const rt2 = await start('graceful');
      const p = recordingPipeline();
      rt2.startWorker(p);
      // A later job in the slow one's lane runs after anything left of it: once it has run, a re-run would have too.
      await rt2.enqueue([note('a', 'later')]);
      await until(() => p.runs.some((r) => r.payload === 'later'));
      // Each ran exactly once: the slow one finished before the close returned, so nothing re-ran it.
      expect(slow.runs.map((r) => r.payload).concat(p.runs.map((r) => r.payload)).filter((x) => x !== 'later').sort()).toEqual(['quick', 'slow']);
    });

    describe.runIf(factory.sharedState)('several processes on one state', () => {
      it('runs one job per lane at a time across processes, in order, and shares the lanes out', async () => {
        const rts = [await start('shared', { concurrency: 3 }), await start('shared', { concurrency: 3 })];
        const inFlight = new Set<string>();
        const overlaps: string[] = [];
        const byWorker = [0, 0];
        const pipelines = rts.map((_, w) =>
          recordingPipeline(async (job) => {
            if (inFlight.has(job.lane)) overlaps.push(job.lane);
            inFlight.add(job.lane);
            byWorker[w]!++;
            await new Promise((r) => setTimeout(r, 15));
            inFlight.delete(job.lane);
          }),
        );
        const jobs: NewJob[] = [];
        for (let i = 0; i < 6; i++) for (const lane of ['p', 'q', 'r', 's', 't', 'u']) jobs.push(note(lane, `${lane}${i}`));
        await rts[0]!.enqueue(jobs);
        rts.forEach((rt, w) => rt.startWorker(pipelines[w]!));
        await until(() => pipelines[0]!.runs.length + pipelines[1]!.runs.length === 36);
        const all = [...pipelines[0]!.runs, ...pipelines[1]!.runs].sort((a, b) => a.at - b.at);
        for (const lane of ['p', 'q', 'r', 's', 't', 'u']) {
          expect(all.filter((r) => r.lane === lane).map((r) => r.payload)).toEqual([0, 1, 2, 3, 4, 5].map((i) => `${lane}${i}`));
        }
        expect(overlaps).toEqual([]);
        expect(byWorker[0]).toBeGreaterThan(0);
        expect(byWorker[1]).toBeGreaterThan(0);
      });

      it('two processes changing one conversation’s timing at once: every change lands', async () => {
        const [a, b] = [await start('timing-shared'), await start('timing-shared')];
        const t = Date.UTC(2025, 4, 5, 10, 0);
        await a.timing.put(timing('7', t), 0);
        const add = async (rt: Runtime, at: number) =>
          updateRecord(rt.timing, '7', (current) => onCustomerMessage(current?.record, { ticketId: '7', messageId: `m${at}`, channel: 'telegram', topic: 'payments', priority: 'high', group: 'payments', at }));
        await Promise.all([a, b].map(async (rt, w) => {
          for (let i = 1; i <= 10; i++) await add(rt, t + w * 100 + i);
        }));
        const stored = (await b.timing.get('7'))!;
        expect(stored.record.unanswered).toHaveLength(21);
        expect(stored.version).toBe(21);
      });

      it('dedupes the same key accepted by two processes at once', async () => {
        const [a, b] = [await start('shared-dedupe'), await start('shared-dedupe')];
        const outcomes = (await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).enqueue([note('x', 'once', 'same-update')])))).flat();
        expect(outcomes.filter((o) => !o.duplicate)).toHaveLength(1);
        const p = recordingPipeline();
        a.startWorker(p);
        await until(() => p.runs.length === 1);
        // A later job in the same lane: once it has run, a second copy of the first would have too.
        await a.enqueue([note('x', 'later')]);
        await until(() => p.runs.some((r) => r.payload === 'later'));
        expect(p.runs.filter((r) => r.payload === 'once')).toHaveLength(1);
      });

      it('a Retry-After seen by one process pauses the target in every process', async () => {
        const [a, b] = [await start('shared-pause'), await start('shared-pause')];
        let limited = false;
        const pa = recordingPipeline((job) => {
          if (!limited) {
            limited = true;
            throw new DeliveryError('429', { kind: 'rate_limited', status: 429, retryAfterMs: 700 });
          }
          void job;
        });
        await a.enqueue([note('h1', 'h1')]);
        a.startWorker(pa);
        await until(() => pa.runs.length === 1);
        const refusedAt = Date.now();
        const pb = recordingPipeline();
        b.startWorker(pb);
        await b.enqueue([note('h2', 'h2'), note('h3', 'h3')]);
        await until(() => pb.runs.length + pa.runs.length === 4);
        const helpdeskRuns = [...pa.runs.slice(1), ...pb.runs];
        for (const r of helpdeskRuns) expect(r.at - refusedAt).toBeGreaterThanOrEqual(600);
      });

      it('a process that stops with work in flight hands it to another, which reconciles', async () => {
        const [a, b] = [await start('shared-handover'), await start('shared-handover')];
        const hang = recordingPipeline(() => new Promise<void>(() => {}));
        await a.enqueue([note('a', 'stuck'), note('a', 'next')]);
        a.startWorker(hang);
        await until(() => hang.runs.length === 1);
        const p = recordingPipeline();
        b.startWorker(p);
        await a.close(50);
        open.splice(open.indexOf(a), 1);
        await until(() => p.runs.length === 2);
        expect(p.runs.map((r) => [r.payload, r.ctx.reconcile])).toEqual([['stuck', true], ['next', false]]);
      });
    });

    describe('scheduling under a backlog', () => {
      const payloads = (p: { runs: Recorded[] }) => p.runs.map((r) => r.payload);

      it('serves urgent before high before the rest, and conversations round-robin within a priority', async () => {
        const rt = await start('classes', { concurrency: 1 });
        await rt.enqueue([
          note('a', 'a1'), note('a', 'a2'), note('a', 'a3'),
          note('b', 'high:b1'), note('c', 'c1'), note('d', 'urgent:d1'), note('e', 'high:e1'), note('f', 'f1'),
        ]);
        const p = recordingPipeline();
        rt.startWorker(p);
        await until(() => p.runs.length === 8);
        expect(payloads(p)).toEqual(['urgent:d1', 'high:b1', 'high:e1', 'a1', 'c1', 'f1', 'a2', 'a3']);
      });

      it('an urgent message hurries the messages of its conversation queued before it (order kept)', async () => {
        const rt = await start('inherit', { concurrency: 1 });
        await rt.enqueue([note('x', 'x1'), note('x', 'x2'), note('y', 'y1'), note('y', 'y2'), note('y', 'urgent:y3'), note('z', 'z1')]);
        const p = recordingPipeline();
        rt.startWorker(p);
        await until(() => p.runs.length === 6);
        expect(payloads(p)).toEqual(['y1', 'y2', 'urgent:y3', 'x1', 'z1', 'x2']);
      });

      it('a new conversation waits one round of the conversations ahead, not the whole backlog', async () => {
        const rt = await start('newcomer', { concurrency: 1 });
        const backlog: NewJob[] = [];
        for (let i = 0; i < 30; i++) backlog.push(note('flood', `flood${i}`));
        for (const lane of ['p', 'q', 'r']) for (let i = 0; i < 10; i++) backlog.push(note(lane, `${lane}${i}`));
        await rt.enqueue(backlog);
        let added = false;
        const p = recordingPipeline(async () => {
          if (!added) {
            added = true;
            await rt.enqueue([note('new', 'newcomer'), note('rg', 'urgent:help')]);
          }
        });
        rt.startWorker(p);
        await until(() => p.runs.length === 62);
        const order = payloads(p);
        // The urgent one goes next; the newcomer after at most one job of each of the 4 lanes ahead.
        expect(order.indexOf('urgent:help')).toBe(1);
        expect(order.indexOf('newcomer')).toBeLessThanOrEqual(2 + 4);
        expect(new Set(order).size).toBe(62);
      });

      it('classifies nothing while every ready lane can be taken at once (no queue to order)', async () => {
        const rt = await start('no-queue', { concurrency: 4 });
        const p = recordingPipeline();
        let classified = 0;
        const classify = p.classify!.bind(p);
        p.classify = (job) => {
          classified++;
          return classify(job);
        };
        rt.startWorker(p);
        for (const lane of ['a', 'b', 'c']) {
          await rt.enqueue([note(lane, `${lane}1`)]);
          await until(() => p.runs.some((r) => r.payload === `${lane}1`));
        }
        expect(classified).toBe(0);
      });

        it('counts the queue per class: jobs as they were classified, the rest as not classified yet, across a restart', async () => {
        let rt = await start('depth', { concurrency: 1, floodLimit: { messages: 1, perSeconds: 3600 } });
        const none = { urgent: 0, high: 0, normal: 0, throttled: 0, unclassified: 0 };
        await rt.enqueue([
          note('u', 'urgent:u1'), note('h', 'high:h1'), note('n', 'n1'),
          // The spammer's second and third messages are over the flood limit; the urgent one is not held back.
          from('form:spammer', 's1', 's1'), from('form:spammer', 's2', 's2'), from('form:spammer', 's3', 'urgent:s3'),
        ]);
        // No worker has looked at them yet.
        expect(await rt.stats()).toMatchObject({ queued: 6, queuedByClass: { ...none, unclassified: 6 } });

        // One worker for six lanes: they wait, so they are classified; the first taken stays in flight (still queued).
        let release!: () => void;
        const held = new Promise<void>((r) => (release = r));
        rt.startWorker(recordingPipeline(() => held));
        const classified = await until(async () => {
          const s = await rt.stats();
          return s.inFlight === 1 && s.queuedByClass.unclassified === 0 && s;
        });
        expect(classified).toMatchObject({ queued: 6, queuedByClass: { urgent: 2, high: 1, normal: 2, throttled: 1, unclassified: 0 } });

        // The one in flight (urgent) finishes on the way down; the counts come back with the queue after a restart.
        const closing = rt.close(10_000);
        release();
        await closing;
        rt = await start('depth', { concurrency: 1 });
        expect(await rt.stats()).toMatchObject({ queued: 5, queuedByClass: { urgent: 1, high: 1, normal: 2, throttled: 1, unclassified: 0 } });
        rt.startWorker(recordingPipeline());
        await until(async () => (await rt.stats()).queued === 0);
        expect((await rt.stats()).queuedByClass).toEqual(none);
      });

    it('throttles a sender over the flood limit: their messages wait behind others, none is dropped, the first is marked once', async () => {
        const rt = await start('flood', { concurrency: 1, floodLimit: { messages: 3, perSeconds: 3600 } });
        // A web form flooded by one sender (each submission its own conversation), and two other customers.
        await rt.enqueue(Array.from({ length: 7 }, (_, i) => from('form:spammer', `w${i}`, `w${i}`)));
        await rt.enqueue([from('form:alice', 'o1', 'o1'), from('form:bob', 'o2', 'o2'), from('form:spammer', 'w7', 'urgent:w7')]);
        const p = recordingPipeline();
        rt.startWorker(p);
        await until(() => p.runs.length === 10);
        expect(payloads(p)).toEqual(['urgent:w7', 'w0', 'w1', 'w2', 'o1', 'o2', 'w3', 'w4', 'w5', 'w6']);
        expect(p.runs.filter((r) => r.throttled === 'first').map((r) => r.payload)).toEqual(['w3']);
        expect(p.runs.filter((r) => r.throttled === 'more').map((r) => r.payload).sort()).toEqual(['urgent:w7', 'w4', 'w5', 'w6']);
        expect(p.runs.filter((r) => r.payload.startsWith('o')).every((r) => r.throttled === undefined)).toBe(true);
      });
    });

    it('keeps conversation timings: compare-and-set, found by opening time and by wait, kept across a restart, pruned', async () => {
      const rt1 = await start('timing');
      const t = Date.UTC(2025, 4, 5, 10, 0);
      expect(await rt1.timing.put(timing('1', t), 0)).toBe(true);
      expect(await rt1.timing.put(timing('1', t + 5), 0)).toBe(false); // someone else wrote first
      const first = (await rt1.timing.get('1'))!;
      expect(first).toEqual({ record: timing('1', t), version: 1 });
      expect(await rt1.timing.put(timing('1', t, { answered: true }), 1)).toBe(true);
      expect(await rt1.timing.put(timing('1', t), 1)).toBe(false); // a stale version
      await rt1.timing.put(timing('2', t + 60_000), 0);
      await rt1.timing.put(timing('3', t - 60_000), 0);
      await rt1.timing.put(timing('4', t - 3_600_000, { answered: true }), 0);
      expect(await rt1.timing.get('nope')).toBeUndefined();

      expect((await rt1.timing.openedBetween(t - 60_000, t + 60_000)).map((r) => r.ticketId)).toEqual(['3', '1']);
      // Waiting ones, longest waiting first; the answered ones are not watched.
      expect((await rt1.timing.watched(10)).map((v) => v.record.ticketId)).toEqual(['3', '2']);
      expect((await rt1.timing.watched(1)).map((v) => v.record.ticketId)).toEqual(['3']);

      await rt1.close(1000);
      open.splice(open.indexOf(rt1), 1);
      const rt2 = await start('timing');
      expect((await rt2.timing.get('1'))?.version).toBe(2);
      // Opened before t: '3' still waits and stays, '4' was answered and goes.
      expect(await rt2.timing.prune(t)).toBe(1);
      expect(await rt2.timing.get('4')).toBeUndefined();
      expect((await rt2.timing.openedBetween(0, t + 3_600_000)).map((r) => r.ticketId)).toEqual(['3', '1', '2']);
    });

    describe('customers (identities)', () => {
      let n = 0;
      const newId = () => `c${++n}`;
      /** Links what one message proved, as the pipeline does: plan on what is stored, commit, redo on a conflict. */
      const link = async (rt: Runtime, ids: string[]) => {
        for (;;) {
          const plan = planLink(await rt.identities.find(ids), ids, newId);
          if (plan.change.put.length === 0 || (await rt.identities.commit(plan.change))) return plan;
        }
      };

      it('finds a customer by any of its identifiers, and keeps it across a restart', async () => {
        let rt = await start('ident-find');
        expect(await rt.identities.find(['phone:+998901234567'])).toEqual([]);
        await link(rt, ['user:telegram:42', 'phone:+998901234567']);
        await link(rt, ['user:whatsapp:998901234567', 'phone:+998901234567']);
        await rt.close(500);
        open.splice(open.indexOf(rt), 1);
        rt = await start('ident-find');
        const [byTelegram] = await rt.identities.find(['user:telegram:42']);
        const [byWhatsapp] = await rt.identities.find(['user:whatsapp:998901234567']);
        expect(byTelegram!.id).toBe(byWhatsapp!.id);
        expect(byTelegram!.identifiers.sort()).toEqual(['phone:+998901234567', 'user:telegram:42', 'user:whatsapp:998901234567']);
      });

      it('merges two customers a message proves are one; the merged-away one is gone', async () => {
        const rt = await start('ident-merge');
        await link(rt, ['user:telegram:7', 'player:555']);
        await link(rt, ['user:whatsapp:998907777777', 'phone:+998907777777']);
        const plan = await link(rt, ['user:telegram:7', 'phone:+998907777777']);
        expect(plan.change.remove).toHaveLength(1);
        const all = await rt.identities.find(['user:telegram:7', 'user:whatsapp:998907777777', 'player:555']);
        expect(all).toHaveLength(1);
        expect(all[0]!.playerId).toBe('555');
      });

      it('refuses a write planned on a customer that changed since, and writes nothing of it', async () => {
        const rt = await start('ident-stale');
        await link(rt, ['user:telegram:8', 'player:800']);
        const [read] = await rt.identities.find(['user:telegram:8']);
        await link(rt, ['user:telegram:8', 'phone:+998908888888']);
        const stale = { ...read!, version: read!.version + 1, identifiers: [...read!.identifiers, 'email:late@example.com'] };
        expect(await rt.identities.commit({ expected: [{ id: read!.id, version: read!.version }], put: [stale], remove: [] })).toBe(false);
        expect(await rt.identities.find(['email:late@example.com'])).toEqual([]);
        const [now] = await rt.identities.find(['user:telegram:8']);
        expect(now!.identifiers).toContain('phone:+998908888888');
        // A customer expected to exist but never written is a conflict too.
        expect(await rt.identities.commit({ expected: [{ id: 'nobody', version: 0 }], put: [newCustomer('x', ['email:x@example.com'])], remove: [] })).toBe(false);
      });

      it('two first messages of one customer planned at once: the second write is refused, and its replan makes one customer', async () => {
        const rt = await start('ident-unowned');
        const form = ['user:site:p950@example.com', 'player:950'];
        const telegram = ['user:telegram:950', 'player:950'];
        // Both read player 950 as nobody's before either wrote.
        const [a, b] = [planLink(await rt.identities.find(form), form, newId), planLink(await rt.identities.find(telegram), telegram, newId)];
        expect(await rt.identities.commit(a.change)).toBe(true);
        expect(await rt.identities.commit(b.change)).toBe(false);
        expect(await rt.identities.find(['user:telegram:950'])).toEqual([]);
        await link(rt, telegram);
        const all = await rt.identities.find([...form, ...telegram]);
        expect(all).toHaveLength(1);
        expect(all[0]!.identifiers.sort()).toEqual(['player:950', 'user:site:p950@example.com', 'user:telegram:950']);
      });

      it.runIf(factory.sharedState)('two processes linking at once: both links survive', async () => {
        const [a, b] = [await start('ident-race'), await start('ident-race')];
        await link(a, ['user:telegram:9', 'player:900']);
        await Promise.all([
          link(a, ['user:telegram:9', 'phone:+998909999999']),
          link(b, ['user:telegram:9', 'email:p900@example.com']),
        ]);
        const [c] = await b.identities.find(['player:900']);
        expect(c!.identifiers.sort()).toEqual(['email:p900@example.com', 'phone:+998909999999', 'player:900', 'user:telegram:9']);
      });
    });

    it('keeps key-value state and blobs', async () => {
      const rt = await start('kv');
      await rt.kv.set('cursor', '42');
      expect(await rt.kv.get('cursor')).toBe('42');
      await rt.kv.delete('cursor');
      expect(await rt.kv.get('cursor')).toBeUndefined();
      const key = await rt.blobs.put(Buffer.from('file bytes'));
      expect((await rt.blobs.get(key))?.toString()).toBe('file bytes');
    });

    it("forgets a record its kind's retention after it was written; one written without a retention stays", async () => {
      const short = 3000;
      const rt = await start('retention', { retention: { ...DEFAULT_RETENTION, sent: short } });
      await rt.kv.set('telegram:sent:r-1', '[101,102]', { keep: 'sent' });
      await rt.kv.set('zendesk:requester:abc', '9001@0', { ttlMs: short });
      await rt.kv.set('email:cursor', '{"lastUid":7}');
      await rt.kv.set('rewritten', 'first', { keep: 'sent' });
      await rt.kv.set('rewritten', 'kept now');
      await rt.kv.set('threads:<m1@x.test>', 'c1', { keep: 'threads' });
      expect(await rt.kv.get('telegram:sent:r-1')).toBe('[101,102]');
      expect(await rt.kv.get('zendesk:requester:abc')).toBe('9001@0');
      await until(async () => (await rt.kv.get('telegram:sent:r-1')) === undefined);
      expect(await rt.kv.get('zendesk:requester:abc')).toBeUndefined();
      expect(await rt.kv.get('email:cursor')).toBe('{"lastUid":7}');
      expect(await rt.kv.get('rewritten')).toBe('kept now');
      expect(await rt.kv.get('threads:<m1@x.test>')).toBe('c1');
    });

    it('keeps a record with its expiry across a restart', async () => {
      const retention = { ...DEFAULT_RETENTION, calls: 4000 };
      const first = await start('retention-restart', { retention });
      await first.kv.set('call:CA1', '{"state":"ringing"}', { keep: 'calls' });
      await first.close(1000);
      open.splice(open.indexOf(first), 1);
      const again = await start('retention-restart', { retention });
      expect(await again.kv.get('call:CA1')).toBe('{"state":"ringing"}');
      await until(async () => (await again.kv.get('call:CA1')) === undefined);
    });

    it('claims at most the limit in a window when many claim at once; a claimed id claims again', async () => {
      const rt = await start('window');
      // Eight conversations of one address finishing together, each wanting an automatic reply.
      const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => rt.kv.claimInWindow('autoreplies:a@x.test', `reply-${i}`, 3, 60 * 60_000)));
      expect(claims.filter(Boolean)).toHaveLength(3);
      const granted = claims.flatMap((ok, i) => (ok ? [`reply-${i}`] : []));
      expect(await rt.kv.claimInWindow('autoreplies:a@x.test', granted[0]!, 3, 60 * 60_000)).toBe(true);
      expect(await rt.kv.claimInWindow('autoreplies:a@x.test', 'reply-late', 3, 60 * 60_000)).toBe(false);
      expect(await rt.kv.claimInWindow('autoreplies:b@x.test', 'reply-0', 3, 60 * 60_000)).toBe(true);
      // Once the window has passed, the old claims no longer count.
      await until(() => rt.kv.claimInWindow('autoreplies:a@x.test', 'reply-next', 3, 20));
    });
  });
}
