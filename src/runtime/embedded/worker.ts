import type { AttemptContext, Logger } from '../../core/connector.ts';
import { asDeliveryError } from '../../core/errors.ts';
import type { Pipeline } from '../../core/pipeline.ts';
import { classOf, provisionalClass } from '../classes.ts';
import { withClass } from '../delivery-class.ts';
import { IDLE_DELIVERIES_AFTER_MS } from '../ingress-share.ts';
import { attemptRecord, decideFailure, dueAt, outcome, reportFailure } from '../failure.ts';
import type { RetryPolicy, WorkerEvents } from '../runtime.ts';
import type { EmbeddedStore, StoredJob, TakenLane } from './store.ts';

export interface WorkerOptions extends RetryPolicy {
  concurrency: number;
}

/** An idle worker looks at the table this often (work another process queued, e.g. `switchboard dlq replay`). */
const IDLE_RECHECK_MS = 1000;

/** Jobs classified per round: enough to keep up with ingress, few enough to keep turns short. */
const CLASSIFY_BATCH = 64;

/**
 * Runs lane heads: one job at a time per lane (order within a conversation), up to
 * `concurrency` lanes at once, most urgent class first and round-robin within a class (see
 * LaneBook). Queued jobs are classified by the pipeline in the background, off the accept path.
 * A target that answered "rate limited" is paused as a whole until its wait is over.
 */
export class EmbeddedWorker {
  private readonly pausedUntil = new Map<string, number>();
  private running = 0;
  private tickScheduled = false;
  private picking = false;
  /** When a delivery last started or ended. */
  private movedAt = 0;
  private classifying = false;
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

  /** Deliveries are moving: in flight or being taken, and one started or ended lately. */
  get busy(): boolean {
    return (this.running > 0 || this.picking) && Date.now() - this.movedAt < IDLE_DELIVERIES_AFTER_MS;
  }

  start(): void {
    this.store.onEnqueued = () => this.wake();
    this.wake();
  }

  wake(): void {
    if (this.stopping || this.tickScheduled) return;
    // Many wake-ups in one turn (a group commit) make one tick.
    this.tickScheduled = true;
    setImmediate(() => {
      this.tickScheduled = false;
      this.tick();
    });
  }

  private tick(): void {
    if (this.stopping) return;
    // When lanes wait for the worker, jobs queued since the last round are classified first, so a
    // pick never passes over an urgent job it could have looked at; the pick follows the round.
    const free = this.opts.concurrency - this.running;
    if (this.pipeline.classify && !this.classifying && this.store.classifyingMatters(free)) return this.classify(this.pipeline.classify);
    // Every slot busy: the next delivery to end takes the next lane (launch picks). Nothing due:
    // the timer comes back when something is. Either way a round now would only be an empty
    // transaction after every group commit of an ingress storm.
    if (free <= 0) return;
    if (!this.picking && !this.store.hasDue(Date.now())) return this.scheduleNext();
    this.pick();
  }

  /** Takes free lanes in the next group commit (with the completions of this turn) and starts them. */
  private pick(): void {
    if (this.picking || this.stopping) return;
    this.picking = true;
    const now = Date.now();
    for (const [target, until] of this.pausedUntil) if (until <= now) this.pausedUntil.delete(target);
    this.store
      .takeAndStart(
        () => {
          this.picking = false;
          return this.stopping ? 0 : this.opts.concurrency - this.running;
        },
        (target) => this.pausedUntil.has(target),
      )
      .then(
        (taken) => {
          for (const lane of taken) this.launch(lane);
          this.scheduleNext();
        },
        (err: unknown) => {
          this.picking = false;
          this.log.error({ err }, 'could not read the queue; retrying in 1 s');
          this.store.markStale();
          this.schedule(Date.now() + 1000);
        },
      );
  }

  /** Classifies a batch of queued jobs (the rules, off the accept path); a lane whose class rose moves up. */
  private classify(classify: NonNullable<Pipeline['classify']>): void {
    this.classifying = true;
    let batch;
    try {
      batch = this.store.takeUnclassified(CLASSIFY_BATCH);
    } catch (err) {
      this.classifying = false;
      this.log.error({ err }, 'could not read the queue; retrying in 1 s');
      this.store.markStale();
      return this.schedule(Date.now() + 1000);
    }
    void Promise.all(
      batch.map(async ({ seq, lane, job }) => {
        const throttled = job.throttled !== undefined;
        let priority;
        try {
          priority = await classify.call(this.pipeline, job);
        } catch (err) {
          // Scheduling is best effort: a job that cannot be classified keeps its provisional class.
          this.log.warn({ err, job: job.id }, 'could not classify a queued job; it waits as it is');
        }
        return { seq, lane, from: provisionalClass(throttled), cls: classOf(priority, throttled) };
      }),
    ).then(
      (results) => {
        try {
          this.store.setClasses(results);
        } catch (err) {
          this.log.warn({ err }, 'could not record job classes; they wait as they are');
          this.store.markStale();
        }
        this.classifying = false;
        this.pick();
        // The next round in a later turn: a long backlog to classify must not hold the event loop.
        if (this.store.classifyingMatters(this.opts.concurrency - this.running)) this.wake();
      },
      () => undefined, // each classification catches its own error
    );
  }

  /** The timer for the next lane that becomes due, a pause that ends, or the idle recheck. */
  private scheduleNext(): void {
    this.schedule(Math.min(this.store.nextDue() ?? Infinity, ...this.pausedUntil.values(), Date.now() + IDLE_RECHECK_MS));
  }

  private schedule(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), Math.max(10, at - Date.now()));
    this.timer.unref();
  }

  private launch({ jobs, cls }: TakenLane): void {
    const head = jobs[0]!;
    this.running++;
    this.movedAt = Date.now();
    const ctx: AttemptContext = {
      attempt: head.attempts + 1,
      reconcile: head.attempts > 0 && head.ambiguous,
      idempotencyKey: head.id,
    };
    void (async () => {
      let completed: Promise<void> | undefined;
      try {
        const left = await withClass(cls, () => this.pipeline.run(jobs, ctx));
        completed = this.store.complete(jobs, left);
      } catch (thrown) {
        this.fail(jobs, thrown);
      }
      this.running--;
      this.movedAt = Date.now();
      if (this.stopping && this.running === 0) this.idle?.();
      // The next lane is taken in the same transaction as this one's completion.
      this.pick();
      if (!completed) return;
      try {
        await completed;
        this.events.delivered?.(outcome(head), jobs.length);
      } catch (thrown) {
        // Delivered, but not recorded as done: it runs again, as a reconciliation.
        this.fail(jobs, thrown);
      }
    })();
  }

  private fail(jobs: StoredJob[], thrown: unknown): void {
    const head = jobs[0]!;
    const err = asDeliveryError(thrown);
    const step = decideFailure(thrown, err, head.failures, this.opts);
    const rec = attemptRecord(step, err);
    try {
      if (step.action === 'dead') {
        this.store.kill(jobs, rec, this.pipeline.onGiveUp(head, err));
      } else {
        const until = dueAt(step);
        if (step.action === 'pause') this.pausedUntil.set(head.target, until);
        this.store.scheduleRetry(head, until, step.failures, rec);
      }
      reportFailure(this.log, this.events, head, step, err);
    } catch (storeErr) {
      // The job stays queued as it was; it will be retried after a restart or the next tick.
      this.log.error({ err: storeErr, job: head.id }, 'could not record the failure');
      this.store.abandon(head.lane);
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
