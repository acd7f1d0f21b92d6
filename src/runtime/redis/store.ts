import type { Redis } from 'ioredis';
import { newId } from '../../core/ids.ts';
import type { AcceptOutcome, BlobStore, KeyValueStore } from '../../core/connector.ts';
import { JobPayload, type DeadLetter, type Job, type Link, type LinkStore, type NewJob } from '../../core/jobs.ts';
import type { RunOutcome } from '../../core/pipeline.ts';
import type { AttemptRecord } from '../failure.ts';
import type { FloodLimit } from '../flood.ts';
import type { DeadLetterQueue, RuntimeStats } from '../runtime.ts';
import type { Retention } from '../../core/retention.ts';
import { CLASS_NAMES, queuedByClass } from '../classes.ts';
import { redisKv } from './kv.ts';
import { scripts, TAKEN_FIELDS } from './scripts.ts';

/** A job as the worker runs it. */
export interface TakenJob extends Job {
  failures: number;
}

export interface StepInput {
  worker: string;
  /** Lanes whose jobs this worker finished, with what each delivery left. */
  done: { lane: string; ids: string[]; outcome?: RunOutcome | void }[];
  /** Classes this worker found for the jobs it was handed. */
  classified: { id: string; cls: number }[];
  /** Lanes it can take now. */
  free: number;
  /** Jobs it can classify now (0 while it is still classifying a batch). */
  classifyMax: number;
}

/** A lane the worker took: its jobs (head and batch) and the class it was taken in. */
export interface TakenLane {
  jobs: TakenJob[];
  cls: number;
}

export interface StepResult {
  taken: TakenLane[];
  toClassify: TakenJob[];
  /** Ready lanes are left that this worker did not take. */
  more: boolean;
  /** When the next delayed lane or paused target is due. */
  nextDue: number | undefined;
}

export interface StoreOptions {
  prefix: string;
  batchSettleMs: number;
  /** How long dedupe keys of finished or dropped work are kept. */
  retentionMs: number;
  /** A worker killed mid-job keeps its lanes this long; then another worker takes them back. */
  lockMs: number;
  floodLimit?: FloodLimit;
  /** How long key-value records of each kind are kept. */
  kvRetention?: Readonly<Retention>;
}

const MAX_BATCH = 20;

/**
 * The Redis runtime's data behind small methods; every change of queue state is one Lua
 * script (see scripts.ts). Commands issued in the same tick share one round trip
 * (ioredis auto-pipelining), which is the Redis side's group commit.
 */
export class RedisStore {
  readonly redis: Redis;
  private readonly opts: StoreOptions;
  private readonly p: string;
  private readonly flood: [number, number];
  private pending: { jobs: NewJob[]; resolve(out: AcceptOutcome[]): void; reject(err: unknown): void }[] = [];

  readonly kv: KeyValueStore;

  constructor(redis: Redis, opts: StoreOptions) {
    this.redis = redis;
    this.opts = opts;
    this.p = opts.prefix;
    const f = opts.floodLimit;
    this.flood = f ? [f.messages, f.messages / (f.perSeconds * 1000)] : [0, 0];
    this.kv = redisKv(redis, opts.prefix, opts.kvRetention);
  }

  get wakeKey(): string {
    return `${this.p}:wake`;
  }

  /**
   * Durable insert-if-absent: resolves once Redis has the jobs (claim and store are one script).
   * Calls arriving in the same turn of the event loop share one script call (group commit):
   * one write to Redis for many webhooks instead of one each.
   */
  enqueue(jobs: NewJob[]): Promise<AcceptOutcome[]> {
    if (jobs.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.pending.push({ jobs, resolve, reject });
      if (this.pending.length === 1) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    const jobs = batch.flatMap((p) => p.jobs);
    let flat: (number | string)[];
    try {
      flat = (await scripts.enqueue.run(this.redis, [this.p, Date.now(), this.opts.batchSettleMs, ...this.flood, jobs.length, ...jobs.flatMap(packJob)])) as (
        | number
        | string
      )[];
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    let i = 0;
    for (const p of batch) {
      p.resolve(p.jobs.map((job) => {
        const out = { id: String(flat[i * 2 + 1]), dedupeKey: job.dedupeKey, duplicate: Number(flat[i * 2]) === 0 };
        i++;
        return out;
      }));
    }
  }

  /** One round of a worker (finish, book classes, take, get jobs to classify): one round trip. */
  async step(input: StepInput): Promise<StepResult> {
    const args: (string | number)[] = [
      this.p, input.worker, Date.now(), this.opts.lockMs, this.opts.retentionMs, input.free, MAX_BATCH, input.classifyMax,
      this.opts.batchSettleMs, ...this.flood, input.done.length,
    ];
    for (const d of input.done) {
      const link = d.outcome?.link;
      const follow = d.outcome?.enqueue ?? [];
      args.push(d.lane, d.ids.length, ...d.ids, link?.conversationKey ?? '', link?.ticketId ?? '', link?.latestAt ?? 0, link ? JSON.stringify(link) : '', follow.length, ...follow.flatMap(packJob));
    }
    args.push(input.classified.length);
    for (const c of input.classified) args.push(c.id, c.cls);
    const [taken, toClassify, more, nextDue, classes] = (await scripts.step.run(this.redis, args)) as [string[], string[], number, string, number[]];
    const lanes: TakenLane[] = [];
    for (const job of unpackJobs(taken)) {
      const last = lanes[lanes.length - 1];
      if (last && last.jobs[0]!.lane === job.lane) last.jobs.push(job);
      else lanes.push({ jobs: [job], cls: Number(classes[lanes.length]) });
    }
    return { taken: lanes, toClassify: unpackJobs(toClassify), more: Number(more) === 1, nextDue: nextDue === '' ? undefined : Number(nextDue) };
  }

  /** Reschedules the head; `pauseUntil` pauses its whole target (every process sees it). False: not this worker's lane any more. */
  async retry(worker: string, job: TakenJob, runAt: number, failures: number, failure: AttemptRecord, pauseUntil?: number): Promise<boolean> {
    const r = await scripts.retry.run(this.redis, [
      this.p, worker, job.lane, job.id, runAt, failures, failure.ambiguous ? 1 : 0, failure.error, failure.detail ?? '', failure.status ?? '',
      job.target, pauseUntil ?? '', Date.now(),
    ]);
    return Number(r) === 1;
  }

  /** Dead-letters jobs of one lane and enqueues their follow-up work atomically. */
  async kill(worker: string, lane: string, ids: string[], failure: AttemptRecord, followUps: NewJob[]): Promise<boolean> {
    const r = await scripts.kill.run(this.redis, [
      this.p, worker, lane, Date.now(), this.opts.batchSettleMs, ...this.flood, failure.error, failure.detail ?? '', failure.status ?? '',
      failure.ambiguous ? 1 : 0, ids.length, ...ids, followUps.length, ...followUps.flatMap(packJob),
    ]);
    return Number(r) === 1;
  }

  /** Keeps this worker's lanes locked while it delivers them. */
  async renew(worker: string, lanes: string[]): Promise<void> {
    if (lanes.length > 0) await scripts.renew.run(this.redis, [this.p, worker, Date.now(), this.opts.lockMs, ...lanes]);
  }

  /**
   * Hands lanes back (a stopping worker): another worker takes them at once and reconciles. The
   * jobs of lanes it never started (`unstarted`, as they were handed out) are not reconciled.
   */
  async release(worker: string, lanes: string[], unstarted: TakenJob[] = []): Promise<void> {
    if (lanes.length === 0) return;
    const restore = unstarted.flatMap((j) => [j.id, j.attempts, j.ambiguous ? 1 : 0]);
    await scripts.release.run(this.redis, [this.p, worker, Date.now(), unstarted.length, ...restore, ...lanes]);
  }

  readonly links: LinkStore = {
    get: async (key) => parseLink(await this.redis.get(`${this.p}:link:${key}`)),
    byTicket: async (ticketId) => parseLink((await scripts.linkByTicket.run(this.redis, [this.p, ticketId])) as string | null),
    put: async (link: Link) => {
      await scripts.linkPut.run(this.redis, [this.p, link.conversationKey, link.ticketId, JSON.stringify(link), link.latestAt ?? 0]);
    },
  };


  readonly blobs: BlobStore = {
    put: async (data) => {
      const key = newId();
      await this.redis.set(`${this.p}:blob:${key}`, data);
      return key;
    },
    get: async (key) => (await this.redis.getBuffer(`${this.p}:blob:${key}`)) ?? undefined,
    delete: async (key) => void (await this.redis.del(`${this.p}:blob:${key}`)),
  };

  readonly dlq: DeadLetterQueue = {
    list: async (opts) => {
      const ids = await this.redis.zrevrange(`${this.p}:dead`, 0, (opts?.limit ?? 100) - 1);
      const rows = await Promise.all(ids.map((id) => this.redis.hgetall(`${this.p}:job:${id}`)));
      return rows.flatMap((row, i) => (row['lane'] ? [toDeadLetter(ids[i]!, row)] : []));
    },
    get: async (id) => {
      if ((await this.redis.zscore(`${this.p}:dead`, id)) === null) return undefined;
      const row = await this.redis.hgetall(`${this.p}:job:${id}`);
      return row['lane'] ? toDeadLetter(id, row) : undefined;
    },
    replay: async (id) => Number(await scripts.replay.run(this.redis, [this.p, Date.now(), id])),
    drop: async (id) => Number(await scripts.drop.run(this.redis, [this.p, this.opts.retentionMs, id])),
  };

  /** One round trip, each read O(1) or O(log n): the queue's sets and the class counters the scripts keep. */
  async stats(inFlight: number): Promise<RuntimeStats> {
    const replies = await this.redis
      .multi()
      .zcard(`${this.p}:pending`)
      .zcard(`${this.p}:dead`)
      .zrange(`${this.p}:pending`, '0', '0', 'WITHSCORES')
      .hmget(`${this.p}:classified`, ...CLASS_NAMES.map((_, c) => `c${c}`))
      .exec();
    if (!replies) throw new Error('the stats transaction was aborted');
    const [queued, dead, oldest, classified] = replies.map(([err, value]) => {
      if (err) throw err;
      return value;
    }) as [number, number, string[], (string | null)[]];
    const oldestAt = oldest.length === 2 ? Number(oldest[1]) : undefined;
    return {
      queued,
      dead,
      inFlight,
      oldestQueuedMs: oldestAt === undefined ? 0 : Math.max(0, Date.now() - oldestAt),
      queuedByClass: queuedByClass(classified.map(Number), queued),
    };
  }
}


function packJob(job: NewJob): string[] {
  return [job.dedupeKey, newId(), job.lane, job.target, job.batchKey ?? '', JSON.stringify(job.payload), job.sender ?? '', job.conversation ?? ''];
}

/**
 * Jobs as the step script returns them: id dk lane target batch payload attempts failures ambiguous createdAt cls throttled link
 * (link: its JSON, '' none, '-' not read, '+' there but not read).
 */
function unpackJobs(flat: string[]): TakenJob[] {
  const jobs: TakenJob[] = [];
  for (let i = 0; i < flat.length; i += TAKEN_FIELDS) {
    const [id, dk, lane, target, batch, payload, attempts, failures, ambiguous, createdAt, , throttled, link] = flat.slice(i, i + TAKEN_FIELDS);
    jobs.push({
      id: id!,
      dedupeKey: dk!,
      lane: lane!,
      target: target!,
      batchKey: batch || undefined,
      payload: JobPayload.parse(JSON.parse(payload!)),
      attempts: Number(attempts),
      failures: Number(failures),
      ambiguous: ambiguous === '1',
      createdAt: Number(createdAt),
      ...(throttled === 'first' || throttled === 'more' ? { throttled } : {}),
      ...(link === '-' ? {} : link === '+' ? { linked: true } : { link: parseLink(link) ?? null }),
    });
  }
  return jobs;
}

function toDeadLetter(id: string, row: Record<string, string>): DeadLetter {
  return {
    id,
    dedupeKey: row['dk'] ?? '',
    lane: row['lane'] ?? '',
    target: row['target'] ?? '',
    payload: JSON.parse(row['payload'] ?? '{}') as DeadLetter['payload'],
    attempts: Number(row['attempts'] ?? 0),
    error: row['error'] ?? '',
    detail: row['detail'] || undefined,
    status: row['status'] ? Number(row['status']) : undefined,
    failedAt: Number(row['failedAt'] ?? 0),
  };
}

function parseLink(data: string | null | undefined): Link | undefined {
  return data ? (JSON.parse(data) as Link) : undefined;
}
