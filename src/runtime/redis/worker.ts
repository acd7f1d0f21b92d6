import { DelayedError, Worker, type Job as BullJob } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AttemptContext, Logger } from '../../core/connector.ts';
import { asDeliveryError } from '../../core/errors.ts';
import type { Pipeline } from '../../core/pipeline.ts';
import { retryDelay } from '../failure.ts';
import type { JobOutcome, RetryPolicy, WorkerEvents } from '../runtime.ts';
import type { RedisStore, TakenJob } from './store.ts';

export interface LaneTokenData {
  lane: string;
}

export interface RedisWorkerOptions extends RetryPolicy {
  concurrency: number;
  queueName: string;
  bullPrefix: string;
  /** A worker killed mid-job keeps its lane locked this long; then another worker takes it over. */
  lockDurationMs: number;
  /** How often lanes whose token went missing are rescheduled. */
  sweepIntervalMs: number;
  /** Restores tokens found missing by the sweep. */
  reschedule(): Promise<number>;
  /** Moves a token this worker holds back to the queue, due now (after the worker is closed). */
  handBack(token: string, lockToken: string): Promise<void>;
}

/** A lane token runs at most this many jobs in a row before it lets other lanes have the slot. */
const RUNS_PER_TURN = 16;
/** Waits this short are slept here, holding the slot: a round trip through BullMQ's delayed set costs more. */
const SHORT_WAIT_MS = 200;

type Step = { next: 'more' } | { next: 'done' } | { next: 'wait'; until: number };

/**
 * Runs lanes from BullMQ. Each lane with work has exactly one BullMQ job (its token); BullMQ
 * hands each token to one worker at a time, across all processes, so a conversation has
 * one job in flight at most while different conversations run in parallel. A token whose
 * lane is not due (backoff, batch settling, its target paused by a 429) is moved to
 * BullMQ's delayed set until it is. A worker killed mid-job loses its lock; BullMQ's stalled
 * check hands the token to another worker, and the job, marked ambiguous when it started,
 * is retried with `reconcile`.
 */
export class RedisWorker {
  private worker: Worker<LaneTokenData> | undefined;
  private readonly active = new Map<string, { job: BullJob<LaneTokenData>; lockToken: string }>();
  private readonly abandoned = new Set<string>();
  private running = 0;
  private stopping = false;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly store: RedisStore;
  private readonly pipeline: Pipeline;
  private readonly connection: Redis;
  private readonly opts: RedisWorkerOptions;
  private readonly log: Logger;
  private readonly events: WorkerEvents;

  constructor(store: RedisStore, pipeline: Pipeline, connection: Redis, opts: RedisWorkerOptions, log: Logger, events: WorkerEvents = {}) {
    this.store = store;
    this.pipeline = pipeline;
    this.connection = connection;
    this.opts = opts;
    this.log = log;
    this.events = events;
  }

  get inFlight(): number {
    return this.running;
  }

  start(): void {
    this.worker = new Worker<LaneTokenData>(this.opts.queueName, (job, lockToken) => this.process(job, lockToken ?? ''), {
      connection: this.connection,
      prefix: this.opts.bullPrefix,
      concurrency: this.opts.concurrency,
      lockDuration: this.opts.lockDurationMs,
      stalledInterval: this.opts.lockDurationMs,
      // A token must never end up "failed": stalls (killed workers) are routine here.
      maxStalledCount: 1_000_000,
      removeOnComplete: { count: 0 },
      removeOnFail: { count: 0 },
    });
    this.worker.on('error', (err) => this.log.warn({ error: err.message }, 'queue connection problem; BullMQ retries'));
    const sweep = () => {
      this.opts.reschedule().then(
        (n) => n > 0 && this.log.warn({ lanes: n }, 'rescheduled lanes whose wake-up was lost (a process died while accepting)'),
        (err: unknown) => this.log.warn({ error: err instanceof Error ? err.message : String(err) }, 'lane sweep failed; will try again'),
      );
    };
    sweep();
    this.sweepTimer = setInterval(sweep, this.opts.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  private async process(job: BullJob<LaneTokenData>, lockToken: string): Promise<void> {
    const token = job.id!;
    const lane = job.data.lane;
    this.active.set(token, { job, lockToken });
    try {
      for (let turn = 0; ; turn++) {
        if (this.stopping || turn >= RUNS_PER_TURN) return await this.delay(job, lockToken, Date.now());
        const taken = await this.store.take(lane, token);
        if (taken.kind === 'stale' || taken.kind === 'empty') return;
        if (taken.kind === 'wait') {
          await this.wait(job, lockToken, taken.until);
          continue;
        }
        const step = await this.run(lane, token, taken.jobs);
        if (this.abandoned.has(token)) return;
        if (step.next === 'done') return;
        if (step.next === 'wait') await this.wait(job, lockToken, step.until);
      }
    } finally {
      this.active.delete(token);
      this.abandoned.delete(token);
    }
  }

  /** A short wait is slept here; a longer one hands the slot back until then. */
  private async wait(job: BullJob<LaneTokenData>, lockToken: string, until: number): Promise<void> {
    const ms = until - Date.now();
    if (ms > SHORT_WAIT_MS || this.stopping) await this.delay(job, lockToken, until);
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  }

  /** Puts the token back in BullMQ's delayed set until `at` (other lanes use the slot meanwhile). */
  private async delay(job: BullJob<LaneTokenData>, lockToken: string, at: number): Promise<never> {
    await job.moveToDelayed(Math.max(at, Date.now()), lockToken);
    throw new DelayedError();
  }

  private async run(lane: string, token: string, jobs: TakenJob[]): Promise<Step> {
    const head = jobs[0]!;
    const ids = jobs.map((j) => j.id);
    const ctx: AttemptContext = {
      attempt: head.attempts + 1,
      reconcile: head.attempts > 0 && head.ambiguous,
      idempotencyKey: head.id,
    };
    this.running++;
    let thrown: unknown;
    let ok = false;
    try {
      await this.pipeline.run(jobs, ctx);
      ok = true;
    } catch (err) {
      thrown = err;
    } finally {
      this.running--;
    }
    // Handed back during shutdown: another worker owns the lane now and will reconcile.
    if (this.abandoned.has(token)) return { next: 'done' };
    if (ok) {
      const more = await this.store.complete(lane, token, ids);
      this.events.delivered?.(outcome(head), jobs.length);
      return more ? { next: 'more' } : { next: 'done' };
    }
    return this.fail(lane, token, jobs, thrown);
  }

  private async fail(lane: string, token: string, jobs: TakenJob[], thrown: unknown): Promise<Step> {
    const head = jobs[0]!;
    const err = asDeliveryError(thrown);
    const log = this.log.child({ job: head.id, lane: head.lane, kind: head.payload.kind, attempt: head.attempts + 1 });
    const failure = { error: err.message, detail: err.detail, status: err.status, ambiguous: err.ambiguous };
    if (err.kind === 'rate_limited') {
      // Not counted as a failure: the remote side is fine, it asks us to slow down; every process pauses the target.
      const delay = retryDelay(this.opts, head.failures + 1, err.retryAfterMs);
      const until = Date.now() + delay;
      await this.store.retry(head, until, head.failures, failure, until);
      log.warn({ target: head.target, delayMs: delay, status: err.status }, 'rate limited; target paused');
      this.events.retried?.(outcome(head), 'rate_limited', delay);
      return { next: 'wait', until };
    }
    const failures = head.failures + 1;
    if (err.kind === 'permanent' || failures >= this.opts.maxAttempts) {
      const reason = err.kind === 'permanent' ? err.message : `gave up after ${failures} attempts: ${err.message}`;
      const more = await this.store.kill(lane, token, jobs.map((j) => j.id), { ...failure, error: reason }, this.pipeline.onGiveUp(head, err));
      log.error({ status: err.status, detail: err.detail?.slice(0, 2000), error: reason }, 'dead-lettered');
      this.events.deadLettered?.(outcome(head), err.kind === 'permanent' ? 'permanent' : 'exhausted');
      return more ? { next: 'more' } : { next: 'done' };
    }
    const delay = retryDelay(this.opts, failures, err.retryAfterMs);
    const until = Date.now() + delay;
    await this.store.retry(head, until, failures, failure);
    log.warn({ status: err.status, delayMs: delay, error: err.message }, 'delivery failed; will retry');
    this.events.retried?.(outcome(head), 'error', delay);
    return { next: 'wait', until };
  }

  /**
   * Stop taking work; let jobs in flight finish for up to `graceMs`; hand the rest back
   * (their tokens go to the delayed set at once, so another worker picks them up without
   * waiting for the lock to expire; the job was marked ambiguous, so it is reconciled).
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    const worker = this.worker;
    if (!worker) return;
    await worker.pause(true).catch(() => undefined);
    const deadline = Date.now() + graceMs;
    while (this.active.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    // Closed first, so it cannot fetch (and lock) the tokens we are about to hand back.
    await worker.close(true).catch(() => undefined);
    for (const [token, { job, lockToken }] of this.active) {
      this.abandoned.add(token);
      await this.opts.handBack(token, lockToken).catch((err: unknown) => {
        this.log.warn({ lane: job.data.lane, error: err instanceof Error ? err.message : String(err) }, 'could not hand back a lane; it is released when its lock expires');
      });
    }
  }
}

function outcome(job: TakenJob): JobOutcome {
  const p = job.payload;
  const channelId = p.kind === 'inbound' ? p.message.channel.id : job.target.startsWith('channel:') ? job.target.slice(8) : undefined;
  return { kind: p.kind, lane: job.lane, target: job.target, channelId, createdAt: job.createdAt };
}
