import type { Redis } from 'ioredis';
import { newId } from '../../core/ids.ts';
import type { AcceptOutcome, BlobStore, KeyValueStore } from '../../core/connector.ts';
import { JobPayload, type DeadLetter, type Job, type Link, type LinkStore, type NewJob } from '../../core/jobs.ts';
import type { DeadLetterQueue, RuntimeStats } from '../runtime.ts';
import { scripts } from './scripts.ts';

/** A job as the worker runs it. */
export interface TakenJob extends Job {
  failures: number;
}

export type TakeResult =
  | { kind: 'stale' }
  | { kind: 'empty' }
  | { kind: 'wait'; until: number }
  | { kind: 'run'; jobs: TakenJob[] };

/** A lane that just got work and needs its BullMQ token: [lane, token id, due at]. */
export interface LaneToken {
  lane: string;
  token: string;
  runAt: number;
}

export interface StoreOptions {
  prefix: string;
  batchSettleMs: number;
  /** How long dedupe keys of finished or dropped work are kept. */
  retentionMs: number;
  /** Adds the BullMQ jobs that wake a lane up. */
  schedule(tokens: LaneToken[]): void;
}

const FIELDS_PER_TAKEN = 10;

/**
 * The Redis runtime's data behind small methods; every change of queue state is one Lua
 * script (see scripts.ts). Commands issued in the same tick share one round trip
 * (ioredis auto-pipelining), which is the Redis side's group commit.
 */
export class RedisStore {
  readonly redis: Redis;
  private readonly opts: StoreOptions;
  private readonly p: string;
  private pending: { jobs: NewJob[]; resolve(out: AcceptOutcome[]): void; reject(err: unknown): void }[] = [];

  constructor(redis: Redis, opts: StoreOptions) {
    this.redis = redis;
    this.opts = opts;
    this.p = opts.prefix;
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
      let tokens: (string | number)[];
      [flat, tokens] = (await scripts.enqueue.run(this.redis, [
        this.p,
        Date.now(),
        this.opts.batchSettleMs,
        `t${newId()}`,
        jobs.length,
        ...jobs.flatMap(packJob),
      ])) as [(number | string)[], (string | number)[]];
      this.scheduleTokens(tokens);
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

  private scheduleTokens(flat: (string | number)[]): void {
    if (flat.length === 0) return;
    const tokens: LaneToken[] = [];
    for (let i = 0; i < flat.length; i += 3) tokens.push({ lane: String(flat[i]), token: String(flat[i + 1]), runAt: Number(flat[i + 2]) });
    this.opts.schedule(tokens);
  }

  async take(lane: string, token: string, maxBatch = 20): Promise<TakeResult> {
    const r = (await scripts.take.run(this.redis, [this.p, lane, token, Date.now(), maxBatch])) as string[];
    if (r[0] === 'stale' || r[0] === 'empty') return { kind: r[0] };
    if (r[0] === 'wait') return { kind: 'wait', until: Number(r[1]) };
    const jobs: TakenJob[] = [];
    for (let i = 1; i < r.length; i += FIELDS_PER_TAKEN) {
      const [id, dk, jobLane, target, batch, payload, attempts, failures, ambiguous, createdAt] = r.slice(i, i + FIELDS_PER_TAKEN) as string[];
      jobs.push({
        id: id!,
        dedupeKey: dk!,
        lane: jobLane!,
        target: target!,
        batchKey: batch || undefined,
        payload: JobPayload.parse(JSON.parse(payload!)),
        attempts: Number(attempts),
        failures: Number(failures),
        ambiguous: ambiguous === '1',
        createdAt: Number(createdAt),
      });
    }
    return { kind: 'run', jobs };
  }

  /** Removes finished jobs; false when the lane is now empty (its token is released). */
  async complete(lane: string, token: string, ids: string[]): Promise<boolean> {
    return Number(await scripts.complete.run(this.redis, [this.p, lane, token, this.opts.retentionMs, ...ids])) === 1;
  }

  /** Reschedules the head; `pauseUntil` pauses its whole target (every process sees it). */
  async retry(job: TakenJob, runAt: number, failures: number, failure: Failure, pauseUntil?: number): Promise<void> {
    await scripts.retry.run(this.redis, [
      this.p,
      job.id,
      runAt,
      failures,
      failure.ambiguous ? 1 : 0,
      failure.error,
      failure.detail ?? '',
      failure.status ?? '',
      job.target,
      pauseUntil ?? '',
      Date.now(),
    ]);
  }

  /** Dead-letters jobs and enqueues their follow-up work atomically; false when the lane is now empty. */
  async kill(lane: string, token: string, ids: string[], failure: Failure, followUps: NewJob[]): Promise<boolean> {
    const [more, tokens] = (await scripts.kill.run(this.redis, [
      this.p,
      lane,
      token,
      Date.now(),
      this.opts.batchSettleMs,
      `t${newId()}`,
      failure.error,
      failure.detail ?? '',
      failure.status ?? '',
      failure.ambiguous ? 1 : 0,
      ids.length,
      ...ids,
      followUps.length,
      ...followUps.flatMap(packJob),
    ])) as [number, (string | number)[]];
    this.scheduleTokens(tokens);
    return Number(more) === 1;
  }

  /** Lanes whose token is missing (a process died between storing work and scheduling it). */
  async orphanedLanes(tokenKeyPrefix: string): Promise<LaneToken[]> {
    const out: LaneToken[] = [];
    let cursor = '0';
    do {
      const [next, missing] = (await scripts.sweep.run(this.redis, [this.p, tokenKeyPrefix, cursor, 500])) as [string, string[]];
      for (let i = 0; i < missing.length; i += 2) out.push({ lane: missing[i]!, token: missing[i + 1]!, runAt: Date.now() });
      cursor = next;
    } while (cursor !== '0');
    return out;
  }

  readonly links: LinkStore = {
    get: async (key) => parseLink(await this.redis.get(`${this.p}:link:${key}`)),
    byTicket: async (ticketId) => parseLink((await scripts.linkByTicket.run(this.redis, [this.p, ticketId])) as string | null),
    put: async (link: Link) => {
      await scripts.linkPut.run(this.redis, [this.p, link.conversationKey, link.ticketId, JSON.stringify(link)]);
    },
  };

  readonly kv: KeyValueStore = {
    get: async (key) => (await this.redis.hget(`${this.p}:kv`, key)) ?? undefined,
    set: async (key, value) => void (await this.redis.hset(`${this.p}:kv`, key, value)),
    delete: async (key) => void (await this.redis.hdel(`${this.p}:kv`, key)),
    claimInWindow: async (key, id, limit, windowMs) =>
      (await scripts.claimInWindow.run(this.redis, [`${this.p}:window:${key}`, id, limit, windowMs, Date.now()])) === 1,
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
    replay: async (id) => {
      const [count, tokens] = (await scripts.replay.run(this.redis, [this.p, Date.now(), `t${newId()}`, id])) as [number, (string | number)[]];
      this.scheduleTokens(tokens);
      return Number(count);
    },
    drop: async (id) => Number(await scripts.drop.run(this.redis, [this.p, this.opts.retentionMs, id])),
  };

  async stats(inFlight: number): Promise<RuntimeStats> {
    const [queued, dead, oldest] = await Promise.all([
      this.redis.zcard(`${this.p}:pending`),
      this.redis.zcard(`${this.p}:dead`),
      this.redis.zrange(`${this.p}:pending`, '0', '0', 'WITHSCORES'),
    ]);
    const oldestAt = oldest.length === 2 ? Number(oldest[1]) : undefined;
    return { queued, dead, inFlight, oldestQueuedMs: oldestAt === undefined ? 0 : Math.max(0, Date.now() - oldestAt) };
  }
}

export interface Failure {
  error: string;
  detail?: string;
  status?: number;
  ambiguous: boolean;
}

function packJob(job: NewJob): string[] {
  return [job.dedupeKey, newId(), job.lane, job.target, job.batchKey ?? '', JSON.stringify(job.payload)];
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
