import type { Logger } from '../../core/connector.ts';
import type { Retention } from '../../core/retention.ts';
import type { Pipeline } from '../../core/pipeline.ts';
import { FloodMeter, type FloodLimit } from '../flood.ts';
import { IngressShare, type ShareSettings } from '../ingress-share.ts';
import type { RetryPolicy, Runtime, WorkerEvents } from '../runtime.ts';
import { startCheckpointer } from './checkpointer.ts';
import { createEmbeddedConversationLog } from './conversations.ts';
import { databaseFile, openDatabase } from './database.ts';
import { createEmbeddedIdentities } from './identities.ts';
import { startKvSweep } from './kv.ts';
import { EmbeddedStore } from './store.ts';
import { createEmbeddedTimingStore } from './timing-store.ts';
import { EmbeddedWorker } from './worker.ts';

export interface EmbeddedOptions {
  path: string;
  sync?: 'normal' | 'full';
  concurrency: number;
  /** How this process shares itself between webhooks and deliveries during a storm (see IngressShare). */
  share?: Partial<ShareSettings>;
  retry: RetryPolicy;
  batchSettleMs?: number;
  /** How long dedupe keys of finished work are kept (channels redeliver for at most days). */
  ledgerRetentionMs?: number;
  /** Per-sender flood limit (absent: none). */
  floodLimit?: FloodLimit;
  /** How long key-value records of each kind are kept (`retention:`); the defaults otherwise. */
  retention?: Readonly<Retention>;
  /** The key-value store's clock, for the retention benchmark's simulated month. */
  kvClock?: () => number;
  /** How often expired key-value records are deleted (a bounded batch at a time); default a minute. */
  kvSweepEveryMs?: number;
  log: Logger;
}

/** Expired key-value records are deleted in batches of 1,000, at most 50 per round. */
const KV_SWEEP = { everyMs: 60_000, batch: 1000, maxBatches: 50 };

/** The default runtime: one node:sqlite file, no server to run. */
export function createEmbeddedRuntime(opts: EmbeddedOptions): Runtime {
  const db = openDatabase(opts.path, { sync: opts.sync });
  const checkpointer = startCheckpointer(db, databaseFile(opts.path), opts.log);
  const store = new EmbeddedStore(db, {
    batchSettleMs: opts.batchSettleMs,
    flood: opts.floodLimit && new FloodMeter(opts.floodLimit),
    retention: opts.retention,
    kvClock: opts.kvClock,
    gate: checkpointer,
  });
  const sweep = startKvSweep(store.kv, { ...KV_SWEEP, everyMs: opts.kvSweepEveryMs ?? KV_SWEEP.everyMs, onError: (err) => opts.log.warn({ err }, 'deleting expired records failed') });
  const conversations = createEmbeddedConversationLog(db, opts.log, checkpointer);
  let worker: EmbeddedWorker | undefined;
  const share = new IngressShare({ ...opts.share, busy: () => worker?.busy ?? false });
  const retention = opts.ledgerRetentionMs ?? 14 * 24 * 3600_000;
  const prune = setInterval(() => {
    try {
      store.pruneLedger(retention);
      conversations.prune();
    } catch (err) {
      opts.log.warn({ err }, 'ledger pruning failed');
    }
  }, 3600_000);
  prune.unref();

  return {
    enqueue: (jobs) => store.enqueue(jobs),
    links: store.links,
    kv: store.kv,
    blobs: store.blobs,
    dlq: store.dlq,
    timing: createEmbeddedTimingStore(db),
    conversations,
    identities: createEmbeddedIdentities(db),
    startWorker(pipeline: Pipeline, events?: WorkerEvents) {
      worker = new EmbeddedWorker(store, pipeline, { ...opts.retry, concurrency: opts.concurrency }, opts.log.child({ part: 'worker' }), events);
      worker.start();
    },
    async close(graceMs) {
      clearInterval(prune);
      sweep.stop();
      await worker?.stop(graceMs);
      conversations.flush();
      try {
        store.settleLedger();
      } catch (err) {
        // The keys stay in the log, where the next start reads them.
        opts.log.warn({ err }, 'moving the ledger log into its index failed');
      }
      await checkpointer.close();
      db.close();
      checkpointer.closeFile();
    },
    async stats() {
      return store.stats(worker?.inFlight ?? 0);
    },
    async ping() {
      db.prepare('SELECT 1').get();
    },
    admit: (line, handle, full) => share.run(line, handle, full),
  };
}
