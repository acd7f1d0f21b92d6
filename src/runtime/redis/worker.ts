import type { Redis } from 'ioredis';
import type { AttemptContext, Logger } from '../../core/connector.ts';
import { asDeliveryError } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import type { Pipeline } from '../../core/pipeline.ts';
import { classOf } from '../classes.ts';
import { withClass } from '../delivery-class.ts';
import { IDLE_DELIVERIES_AFTER_MS } from '../ingress-share.ts';
import { attemptRecord, decideFailure, dueAt, outcome, reportFailure } from '../failure.ts';
import type { RetryPolicy, WorkerEvents } from '../runtime.ts';
import type { RedisStore, StepInput, TakenJob, TakenLane } from './store.ts';

export interface RedisWorkerOptions extends RetryPolicy {
  concurrency: number;
  /** A worker killed mid-job keeps its lanes this long; then another worker takes them back. */
  lockDurationMs: number;
}

/** Jobs classified per round trip. */
const CLASSIFY_BATCH = 64;
/** Longest an idle worker waits for a wake-up before it looks again (dead workers' lanes, lost wake-ups). */
const IDLE_POLL_MS = 1000;
/**
 * Lanes a worker takes ahead of its free slots, per slot: a delivery that ends starts the next
 * taken lane at once instead of waiting for a step's round trip (one in flight, then its own:
 * ~3 ms of every ~24 a slot spends per message in a drain). Bounded so that a more urgent job
 * queued meanwhile waits behind at most this many lanes; below 8 slots nothing is taken ahead
 * (strict order where a worker runs one or a few jobs at a time).
 */
const AHEAD_PER_SLOT = 1 / 4;

/**
 * Runs lanes from Redis, scheduled like the embedded store: most urgent class first,
 * round-robin within a class, one job (or batch) per turn, at most one job of a lane in
 * flight across all processes. All of a round (finished jobs, classes found, lanes taken, jobs
 * to classify) is one script call (see scripts.ts, STEP). An idle worker blocks on the wake
 * list, which every change that makes work ready pushes to. A worker killed mid-job stops
 * renewing its locks; its lanes are taken back after `lockDurationMs`, and the job, marked
 * ambiguous when it was taken, is retried with `reconcile`.
 */
export class RedisWorker {
  readonly id = newId();
  /** Lanes this worker took and has not given back yet (delivering, or finished and not yet stepped). */
  private readonly lanes = new Map<string, TakenJob[]>();
  /** Lanes taken ahead (in `lanes` too, locked and marked started): they start as slots free up. */
  private readonly ahead: TakenLane[] = [];
  /** Lanes this worker holds at most: its slots and the lanes taken ahead of them. */
  private readonly capacity: number;
  private done: StepInput['done'] = [];
  private classified: StepInput['classified'] = [];
  private classifying = false;
  private stepping = false;
  private again = false;
  private stopping = false;
  private dueTimer: NodeJS.Timeout | undefined;
  /** Resolves the idle loop's wait after a step or a failed delivery (see waitForWork). */
  private stepped: (() => void) | undefined;
  /** The last step left ready lanes this worker could not take: its own completions step it, no wake-up needed. */
  private moreLeft = false;
  private renewTimer: NodeJS.Timeout | undefined;
  private idleLoop: Promise<void> | undefined;
  private drained: (() => void) | undefined;
  private running = 0;
  /** When a delivery last started or ended. */
  private movedAt = 0;
  private readonly store: RedisStore;
  private readonly pipeline: Pipeline;
  private readonly blocking: Redis;
  private readonly opts: RedisWorkerOptions;
  private readonly log: Logger;
  private readonly events: WorkerEvents;

  constructor(store: RedisStore, pipeline: Pipeline, blocking: Redis, opts: RedisWorkerOptions, log: Logger, events: WorkerEvents = {}) {
    this.store = store;
    this.pipeline = pipeline;
    this.blocking = blocking;
    this.opts = opts;
    this.log = log;
    this.events = events;
    this.capacity = opts.concurrency + (opts.concurrency >= 8 ? Math.floor(opts.concurrency * AHEAD_PER_SLOT) : 0);
  }

  get inFlight(): number {
    return this.running;
  }

  /**
   * Deliveries are moving: lanes taken and not given back yet (in flight, or finished and their
   * completion on its way), and one started or ended lately.
   */
  get busy(): boolean {
    return this.lanes.size > 0 && Date.now() - this.movedAt < IDLE_DELIVERIES_AFTER_MS;
  }

  /** Work waits that this worker cannot take yet: every slot is taken (and the lanes taken ahead), or its last step left ready lanes. */
  get behind(): boolean {
    return this.lanes.size >= this.capacity || this.moreLeft;
  }

  start(): void {
    this.renewTimer = setInterval(() => {
      this.store.renew(this.id, [...this.lanes.keys()]).catch((err: unknown) => this.warn('could not renew lane locks', err));
    }, Math.max(100, Math.floor(this.opts.lockDurationMs / 3)));
    this.renewTimer.unref();
    this.idleLoop = this.waitForWork();
    this.kick();
  }

  /** One step soon; steps asked for while one is under way make one more after it. */
  private kick(): void {
    if (this.stopping) return;
    if (this.stepping) {
      this.again = true;
      return;
    }
    this.stepping = true;
    setImmediate(() => void this.step());
  }

  private async step(): Promise<void> {
    const done = this.done;
    const classified = this.classified;
    this.done = [];
    this.classified = [];
    // The lanes finished here still count in `lanes` until the step records them, but the script
    // settles them before it takes: their slots are free for this very step.
    const free = this.stopping ? 0 : this.capacity - this.lanes.size + done.length;
    const classifyMax = this.classifying || this.stopping || !this.pipeline.classify ? 0 : CLASSIFY_BATCH;
    try {
      const r = await this.store.step({ worker: this.id, done, classified, free, classifyMax });
      for (const d of done) this.finished(d.lane);
      this.moreLeft = r.more;
      this.wakeAt(r.nextDue);
      for (const lane of r.taken) this.hold(lane);
      // Lanes are left and slots too: step again, unless jobs are out for classification (their
      // results come with the next step, and the lanes are taken after them).
      if (r.toClassify.length > 0) this.classify(r.toClassify);
      else if (r.more && this.lanes.size < this.capacity) this.again = true;
    } catch (err) {
      // Sent again with the next step; what the lost step may have applied is not applied twice
      // (the lane is no longer this worker's, a follow-up's key is taken, a classified job stays).
      this.done.unshift(...done);
      this.classified.unshift(...classified);
      this.warn('could not reach Redis for the next jobs; trying again', err);
      await new Promise((r) => setTimeout(r, 500));
      this.again = true;
    } finally {
      this.stepping = false;
      if (this.again) {
        this.again = false;
        this.kick();
      }
      if (this.stopping && this.running === 0) this.drained?.();
      this.stepped?.();
    }
  }

  /**
   * Waits on the wake list while the worker has room and nothing left to take. A worker that is
   * full, or whose last step left ready lanes, is stepped by its own completions (each step
   * finishes and takes in one round trip): blocking on the list then would only add a round trip
   * and an empty step per message, as every step that takes pushes a wake-up for idle workers.
   */
  private async waitForWork(): Promise<void> {
    while (!this.stopping) {
      if (this.lanes.size >= this.capacity || this.moreLeft) {
        await new Promise<void>((r) => (this.stepped = r));
        this.stepped = undefined;
        continue;
      }
      try {
        await this.blocking.blpop(this.store.wakeKey, IDLE_POLL_MS / 1000);
      } catch (err) {
        if (this.stopping) return;
        this.warn('could not wait on Redis for work; trying again', err);
        await new Promise((r) => setTimeout(r, 500));
      }
      this.kick();
    }
  }

  /** A step when the next delayed lane or paused target is due (another worker's change may come sooner). */
  private wakeAt(at: number | undefined): void {
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.dueTimer = undefined;
    if (at === undefined || this.stopping) return;
    this.dueTimer = setTimeout(() => this.kick(), Math.max(1, at - Date.now()));
    this.dueTimer.unref();
  }

  private classify(jobs: TakenJob[]): void {
    const classify = this.pipeline.classify!;
    this.classifying = true;
    void Promise.all(
      jobs.map(async (job) => {
        let priority;
        try {
          priority = await classify.call(this.pipeline, job);
        } catch (err) {
          // Scheduling is best effort: a job that cannot be classified keeps its provisional class.
          this.log.warn({ err, job: job.id }, 'could not classify a queued job; it waits as it is');
        }
        return { id: job.id, cls: classOf(priority, job.throttled !== undefined) };
      }),
    ).then((results) => {
      this.classified.push(...results);
      this.classifying = false;
      this.kick();
    }, () => undefined);
  }

  /** A taken lane starts now if a slot is free, else when one is. */
  private hold(lane: TakenLane): void {
    this.lanes.set(lane.jobs[0]!.lane, lane.jobs);
    if (this.running < this.opts.concurrency) this.launch(lane);
    else this.ahead.push(lane);
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
      try {
        const left = await withClass(cls, () => this.pipeline.run(jobs, ctx));
        this.done.push({ lane: head.lane, ids: jobs.map((j) => j.id), outcome: left });
      } catch (thrown) {
        await this.fail(jobs, thrown);
        this.lanes.delete(head.lane);
        this.stepped?.();
      } finally {
        this.running--;
        this.movedAt = Date.now();
        // A stopping worker hands the lanes taken ahead back instead (see stop).
        const next = this.stopping ? undefined : this.ahead.shift();
        if (next) this.launch(next);
        if (this.stopping && this.running === 0) this.drained?.();
        this.kick();
      }
    })();
  }

  /** A finished lane's completion is recorded: it is counted as delivered and its slot is free. */
  private finished(lane: string): void {
    const jobs = this.lanes.get(lane);
    if (jobs) this.events.delivered?.(outcome(jobs[0]!), jobs.length);
    this.lanes.delete(lane);
  }

  private async fail(jobs: TakenJob[], thrown: unknown): Promise<void> {
    const head = jobs[0]!;
    const err = asDeliveryError(thrown);
    const step = decideFailure(thrown, err, head.failures, this.opts);
    const rec = attemptRecord(step, err);
    try {
      if (step.action === 'dead') {
        await this.store.kill(this.id, head.lane, jobs.map((j) => j.id), rec, this.pipeline.onGiveUp(head, err));
      } else {
        const until = dueAt(step);
        await this.store.retry(this.id, head, until, step.failures, rec, step.action === 'pause' ? until : undefined);
      }
      reportFailure(this.log, this.events, head, step, err);
    } catch (storeErr) {
      // The lane stays locked to this worker until its lock lapses; then it is retried as it was.
      this.log.error({ err: storeErr, job: head.id }, 'could not record the failure; the job is retried once its lock lapses');
    }
  }

  private warn(what: string, err: unknown): void {
    this.log.warn({ error: err instanceof Error ? err.message : String(err) }, what);
  }

  /**
   * Stop taking work; let jobs in flight finish for up to `graceMs`; hand the rest back (another
   * worker takes them at once; they were marked ambiguous when taken, so they are reconciled).
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    if (this.renewTimer) clearInterval(this.renewTimer);
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.stepped?.();
    this.blocking.disconnect();
    await this.idleLoop;
    if (this.running > 0) {
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        setTimeout(resolve, graceMs).unref();
      });
    }
    // What finished is recorded; what is still running is handed back.
    while (this.stepping) await new Promise((r) => setTimeout(r, 5));
    const done = this.done.splice(0);
    const classified = this.classified.splice(0);
    try {
      if (done.length > 0 || classified.length > 0) {
        await this.store.step({ worker: this.id, done, classified, free: 0, classifyMax: 0 });
        for (const d of done) this.finished(d.lane);
      }
      await this.store.release(this.id, [...this.lanes.keys()], this.ahead.flatMap((l) => l.jobs));
    } catch (err) {
      this.warn('could not hand lanes back; they are taken back when their locks lapse', err);
    }
  }
}
