import type { AttemptContext, Logger } from '../../core/connector.ts';
import { asDeliveryError, NotYet } from '../../core/errors.ts';
import type { Pipeline } from '../../core/pipeline.ts';
import { retryDelay, type JobOutcome, type RetryPolicy, type WorkerEvents } from '../runtime.ts';
import type { EmbeddedStore, StoredJob } from './store.ts';

export interface WorkerOptions extends RetryPolicy {
  concurrency: number;
}

/**
 * Runs lane heads: one job at a time per lane (order within a conversation),
 * up to `concurrency` lanes at once (conversations never wait on each other).
 * A target that answered "rate limited" is paused as a whole until its wait is over.
 */
export class EmbeddedWorker {
  private readonly busyLanes = new Set<string>();
  private readonly pausedUntil = new Map<string, number>();
  private running = 0;
  private tickScheduled = false;
  private stopping = false;
  private timer: NodeJS.Timeout | undefined;
  private idle: (() => void) | undefined;
  private readonly store: EmbeddedStore;
  private readonly pipeline: Pipeline;
  private readonly opts: WorkerOptions;
  private readonly log: Logger;
  private readonly events: WorkerEvents;

  constructor(store: EmbeddedStore, pipeline: Pipeline, opts: WorkerOptions, log: Logger, events: WorkerEvents = {}) {
    this.store = store;
    this.pipeline = pipeline;
    this.opts = opts;
    this.log = log;
    this.events = events;
  }

  get inFlight(): number {
    return this.running;
  }

  start(): void {
    this.store.onEnqueued = () => this.wake();
    this.wake();
  }

  wake(): void {
    if (this.stopping || this.tickScheduled) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    // Many wake-ups in one turn (a group commit, several completions) make one tick.
    this.tickScheduled = true;
    setImmediate(() => {
      this.tickScheduled = false;
      this.tick();
    });
  }

  private tick(): void {
    if (this.stopping) return;
    const now = Date.now();
    for (const [target, until] of this.pausedUntil) if (until <= now) this.pausedUntil.delete(target);
    const free = this.opts.concurrency - this.running;
    if (free > 0) {
      let heads: StoredJob[];
      try {
        heads = this.store.dueHeads(now, free, (lane, target) => this.busyLanes.has(lane) || this.pausedUntil.has(target));
      } catch (err) {
        this.log.error({ err }, 'could not read the queue; retrying in 1 s');
        this.schedule(now + 1000);
        return;
      }
      for (const head of heads) this.launch(this.store.batchFrom(head));
    }
    const next = Math.min(this.store.nextRunAt() ?? Infinity, ...this.pausedUntil.values(), now + 5000);
    this.schedule(next);
  }

  private schedule(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), Math.max(10, at - Date.now()));
    this.timer.unref();
  }

  private launch(jobs: StoredJob[]): void {
    const head = jobs[0]!;
    this.running++;
    this.busyLanes.add(head.lane);
    const ctx: AttemptContext = {
      attempt: head.attempts + 1,
      reconcile: head.attempts > 0 && head.ambiguous,
      idempotencyKey: head.id,
    };
    void (async () => {
      try {
        await this.store.markStarted(jobs);
        await this.pipeline.run(jobs, ctx);
        await this.store.complete(jobs);
        this.events.delivered?.(outcome(head), jobs.length);
      } catch (thrown) {
        this.fail(jobs, thrown);
      } finally {
        this.running--;
        this.busyLanes.delete(head.lane);
        if (this.stopping && this.running === 0) this.idle?.();
        this.wake();
      }
    })();
  }

  private fail(jobs: StoredJob[], thrown: unknown): void {
    const head = jobs[0]!;
    const log = this.log.child({ job: head.id, lane: head.lane, kind: head.payload.kind, attempt: head.attempts + 1 });
    const err = asDeliveryError(thrown);
    try {
      if (thrown instanceof NotYet) {
        // Not a failure: back in its lane until then, attempts and target untouched.
        this.store.scheduleRetry(head, thrown.until, head.failures, false, thrown.message);
        log.info({ until: new Date(thrown.until).toISOString() }, 'not due yet; waits');
        return;
      }
      if (err.kind === 'rate_limited') {
        // Not counted as a failure: the remote side is fine, it asks us to slow down.
        const delay = retryDelay(this.opts, head.failures + 1, err.retryAfterMs);
        this.pausedUntil.set(head.target, Date.now() + delay);
        this.store.scheduleRetry(head, Date.now() + delay, head.failures, err.ambiguous, err.message, err.detail, err.status);
        log.warn({ target: head.target, delayMs: delay, status: err.status }, 'rate limited; target paused');
        this.events.retried?.(outcome(head), 'rate_limited', delay, { message: err.message, status: err.status });
        return;
      }
      const failures = head.failures + 1;
      if (err.kind === 'permanent' || failures >= this.opts.maxAttempts) {
        const reason = err.kind === 'permanent' ? err.message : `gave up after ${failures} attempts: ${err.message}`;
        for (const j of jobs) {
          this.store.kill(j, reason, err.detail, err.status, err.ambiguous, j === head ? this.pipeline.onGiveUp(head, err) : []);
        }
        log.error({ status: err.status, detail: err.detail?.slice(0, 2000), error: reason }, 'dead-lettered');
        this.events.deadLettered?.(outcome(head), err.kind === 'permanent' ? 'permanent' : 'exhausted', { message: reason, status: err.status });
        return;
      }
      const delay = retryDelay(this.opts, failures, err.retryAfterMs);
      this.store.scheduleRetry(head, Date.now() + delay, failures, err.ambiguous, err.message, err.detail, err.status);
      log.warn({ status: err.status, delayMs: delay, error: err.message }, 'delivery failed; will retry');
      this.events.retried?.(outcome(head), 'error', delay, { message: err.message, status: err.status });
    } catch (storeErr) {
      // The job stays queued as it was; it will be retried after a restart or the next tick.
      log.error({ err: storeErr }, 'could not record the failure');
    }
  }

  /** Stop taking new work and wait for jobs in flight, at most `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.running === 0) return;
    await new Promise<void>((resolve) => {
      this.idle = resolve;
      setTimeout(resolve, graceMs).unref();
    });
  }
}

function outcome(job: StoredJob): JobOutcome {
  const p = job.payload;
  const channelId = p.kind === 'inbound' ? p.message.channel.id : job.target.startsWith('channel:') ? job.target.slice(8) : undefined;
  return { kind: p.kind, lane: job.lane, target: job.target, channelId, createdAt: job.createdAt };
}
