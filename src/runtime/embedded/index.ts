import type { Logger } from '../../core/connector.ts';
import type { Pipeline } from '../../core/pipeline.ts';
import { FloodMeter, type FloodLimit } from '../flood.ts';
import { IngressShare } from '../ingress-share.ts';
import type { RetryPolicy, Runtime, WorkerEvents } from '../runtime.ts';
import { startCheckpointer } from './checkpointer.ts';
import { createEmbeddedConversationLog } from './conversations.ts';
import { databaseFile, openDatabase } from './database.ts';
import { createEmbeddedIdentities } from './identities.ts';
import { EmbeddedStore } from './store.ts';
import { createEmbeddedTimingStore } from './timing-store.ts';
import { EmbeddedWorker } from './worker.ts';

export interface EmbeddedOptions {
  path: string;
  sync?: 'normal' | 'full';
  concurrency: number;
  retry: RetryPolicy;
  batchSettleMs?: number;
  /** How long dedupe keys of finished work are kept (channels redeliver for at most days). */
  ledgerRetentionMs?: number;
  /** Per-sender flood limit (absent: none). */
  floodLimit?: FloodLimit;
  log: Logger;
}

/** The default runtime: one node:sqlite file, no server to run. */
export function createEmbeddedRuntime(opts: EmbeddedOptions): Runtime {
  const db = openDatabase(opts.path, { sync: opts.sync });
  const checkpointer = startCheckpointer(db, databaseFile(opts.path), opts.log);
  const store = new EmbeddedStore(db, { batchSettleMs: opts.batchSettleMs, flood: opts.floodLimit && new FloodMeter(opts.floodLimit) });
  const conversations = createEmbeddedConversationLog(db, opts.log);
  let worker: EmbeddedWorker | undefined;
  const share = new IngressShare({ busy: () => worker?.busy ?? false });
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
      await worker?.stop(graceMs);
      conversations.flush();
      await checkpointer.close();
      db.close();
    },
    async stats() {
      return store.stats(worker?.inFlight ?? 0);
    },
    async ping() {
      db.prepare('SELECT 1').get();
    },
    admit: () => share.admit(),
  };
}
