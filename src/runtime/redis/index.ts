import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../core/connector.ts';
import type { Retention } from '../../core/retention.ts';
import type { Pipeline } from '../../core/pipeline.ts';
import type { FloodLimit } from '../flood.ts';
import type { RetryPolicy, Runtime, WorkerEvents } from '../runtime.ts';
import { redisConversationLog } from './conversations.ts';
import { createRedisIdentities } from './identities.ts';
import { redisLease } from './lease.ts';
import { IngressShare, loopPressure, type ShareSettings } from '../ingress-share.ts';
import { reportWorkersShort, workersShort, yieldToShortWorkers, type ShortBoard } from '../workers-short.ts';
import { redisProcessBoard } from './processes.ts';
import { createSharedRateLimiter } from './rate-limiter.ts';
import { RedisStore } from './store.ts';
import { createRedisTimingStore } from './timing-store.ts';
import { RedisWorker } from './worker.ts';

export interface RedisRuntimeOptions {
  url: string;
  /** Key prefix, so several deployments can share one Redis. */
  prefix: string;
  concurrency: number;
  /** How this process shares itself between webhooks and deliveries during a storm (see IngressShare). */
  share?: Partial<ShareSettings>;
  retry: RetryPolicy;
  batchSettleMs?: number;
  /** How long dedupe keys of finished work are kept (channels redeliver for at most days). */
  ledgerRetentionMs?: number;
  /** How long a killed worker's job stays locked before another worker takes it over. */
  lockDurationMs?: number;
  /** Per-sender flood limit (absent: none). */
  floodLimit?: FloodLimit;
  /** How long key-value records of each kind are kept (`retention:`); the defaults otherwise. */
  retention?: Readonly<Retention>;
  log: Logger;
}

/**
 * The runtime for several processes: state and scheduling in Redis, every change one Lua
 * script. Expects Redis with AOF on (appendonly yes): an acknowledged webhook is then in
 * Redis' append-only file, not only in its memory.
 */
export function createRedisRuntime(opts: RedisRuntimeOptions): Runtime {
  const log = opts.log;
  const lockMs = opts.lockDurationMs ?? 30_000;
  const connections: Redis[] = [];
  let lastConnectionError = '';
  const connect = (options: RedisOptions): Redis => {
    const conn = new Redis(opts.url, options);
    conn.on('error', (err: Error) => {
      // Reconnects are routine (a Redis restart); say it once per distinct problem.
      if (err.message !== lastConnectionError) log.warn({ error: err.message }, 'Redis connection problem; reconnecting');
      lastConnectionError = err.message;
    });
    conn.on('ready', () => (lastConnectionError = ''));
    connections.push(conn);
    return conn;
  };
  // Accepting webhooks: fail fast when Redis is away so the channel gets a 503 and redelivers.
  const commands = connect({ enableAutoPipelining: true, maxRetriesPerRequest: 2, connectTimeout: 5000 });
  // Working (opened by the first worker or shared limiter): wait for Redis to come back rather
  // than fail work that is half done.
  let patient: Redis | undefined;
  const workerConnection = () => (patient ??= connect({ maxRetriesPerRequest: null, enableAutoPipelining: true }));

  const storeOn = (conn: Redis) =>
    new RedisStore(conn, {
      prefix: opts.prefix,
      batchSettleMs: opts.batchSettleMs ?? 1500,
      retentionMs: opts.ledgerRetentionMs ?? 14 * 24 * 3600_000,
      lockMs,
      floodLimit: opts.floodLimit,
      kvRetention: opts.retention,
    });
  const store = storeOn(commands);
  void warnWithoutAof(commands, log);
  let worker: RedisWorker | undefined;
  // Worker processes short of CPU say so here; a process taking webhooks on the same cores then
  // holds them back for the deliveries' part of each cycle, as it does for its own deliveries.
  const shortKey = `${opts.prefix}:workers-short`;
  const shortBoard: ShortBoard = {
    raise: (ttlMs) => commands.set(shortKey, '1', 'PX', ttlMs),
    raised: async () => (await commands.exists(shortKey)) === 1,
  };
  let shortReport: { stop(): void } | undefined;
  const othersShort = workersShort(shortBoard);
  const pressure = loopPressure();
  const yieldToOthers = yieldToShortWorkers(othersShort);
  const share = new IngressShare({
    ...opts.share,
    busy: () => (worker?.busy ?? false) || othersShort(),
    underPressure: () => {
      // Both measured at every cycle's start, each over the time since the last.
      const busyLoop = pressure();
      const yielding = yieldToOthers();
      return busyLoop || yielding;
    },
  });

  return {
    enqueue: (jobs) => store.enqueue(jobs),
    links: store.links,
    kv: store.kv,
    blobs: store.blobs,
    dlq: store.dlq,
    timing: createRedisTimingStore(commands, opts.prefix),
    conversations: redisConversationLog(commands, opts.prefix, log),
    processes: redisProcessBoard(commands, opts.prefix),
    identities: createRedisIdentities(commands, opts.prefix),
    startWorker(pipeline: Pipeline, events?: WorkerEvents) {
      worker = new RedisWorker(
        storeOn(workerConnection()),
        pipeline,
        // Its own connection: an idle worker blocks on it (BLPOP) waiting for work.
        connect({ maxRetriesPerRequest: null }),
        { ...opts.retry, concurrency: opts.concurrency, lockDurationMs: lockMs },
        log.child({ part: 'worker' }),
        events,
      );
      worker.start();
      shortReport = reportWorkersShort(shortBoard, () => worker);
    },
    async close(graceMs) {
      shortReport?.stop();
      await worker?.stop(graceMs);
      await Promise.allSettled(connections.map((c) => c.quit()));
      for (const conn of connections) conn.disconnect();
    },
    async stats() {
      return store.stats(worker?.inFlight ?? 0);
    },
    async ping() {
      await commands.ping();
    },
    admit: (line, handle, full) => share.run(line, handle, full),
    // On the patient connection: a request waiting for its turn waits out a Redis restart too.
    sharedRateLimiter: (name, limiterOpts) => createSharedRateLimiter(workerConnection(), `${opts.prefix}:rl:${name}`, limiterOpts),
    // Lapses as fast as a dead worker's jobs are taken over.
    lease: (name) => redisLease(commands, `${opts.prefix}:lease:${name}`, lockMs),
  };
}

/** The durability promise rests on AOF; say so loudly when it is off. */
async function warnWithoutAof(redis: Redis, log: Logger): Promise<void> {
  try {
    const reply = (await redis.config('GET', 'appendonly')) as string[];
    if (reply[1] === 'no') {
      log.warn({}, 'Redis runs without AOF (appendonly no): acknowledged messages can be lost when Redis restarts; see docs/scaling.md');
    }
  } catch {
    // CONFIG is often disabled on managed Redis; their persistence is theirs to document
  }
}
