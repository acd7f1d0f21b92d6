import type { DatabaseSync } from 'node:sqlite';
import type { KeyValueStore } from '../../core/connector.ts';
import { DEFAULT_RETENTION, expiresAt, type Retention } from '../../core/retention.ts';
import { claimSlot } from '../window-slots.ts';

export interface EmbeddedKv extends KeyValueStore {
  /** Deletes up to `limit` expired records; answers how many it deleted. */
  sweep(limit: number): Promise<number>;
}

/**
 * The embedded store's key-value table. A record may carry an expiry (`expires_at`, ms): it reads
 * as absent from then on, and `sweep` deletes such records a bounded batch at a time, so the file
 * stops growing once the oldest records expire as fast as new ones come. Writes go through the
 * store's group commit (`write`).
 */
export function createEmbeddedKv(
  db: DatabaseSync,
  write: <T>(op: () => T) => Promise<T>,
  opts: { retention?: Readonly<Retention>; now?: () => number } = {},
): EmbeddedKv {
  addExpiryColumn(db);
  const retention = opts.retention ?? DEFAULT_RETENTION;
  const now = opts.now ?? Date.now;
  const stmt = {
    get: db.prepare('SELECT value FROM kv WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)'),
    set: db.prepare('INSERT INTO kv (key, value, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at'),
    delete: db.prepare('DELETE FROM kv WHERE key = ?'),
    sweep: db.prepare('DELETE FROM kv WHERE rowid IN (SELECT rowid FROM kv WHERE expires_at <= ? LIMIT ?)'),
  };
  const read = (key: string, at: number) => (stmt.get.get(key, at) as { value: string } | undefined)?.value;
  return {
    get: async (key) => read(key, now()),
    set: (key, value, o) => {
      const until = expiresAt(o, retention, now());
      return write(() => void stmt.set.run(key, value, until ?? null));
    },
    delete: (key) => write(() => void stmt.delete.run(key)),
    // Read and write in one synchronous step of one transaction: nothing can come in between.
    claimInWindow: (key, id, limit, windowMs) => write(() => {
      const at = now();
      const { claimed, value } = claimSlot(read(key, at), id, limit, windowMs, at);
      if (claimed) stmt.set.run(key, value, at + windowMs);
      return claimed;
    }),
    sweep: (limit) => write(() => Number(stmt.sweep.run(now(), limit).changes)),
  };
}

/** Stores made before records could expire get the column (and the index the sweep reads). */
function addExpiryColumn(db: DatabaseSync): void {
  const columns = db.prepare('PRAGMA table_info(kv)').all() as { name: string }[];
  if (!columns.some((c) => c.name === 'expires_at')) db.exec('ALTER TABLE kv ADD COLUMN expires_at INTEGER');
  db.exec('CREATE INDEX IF NOT EXISTS kv_expires ON kv (expires_at) WHERE expires_at IS NOT NULL');
}

/**
 * Sweeps expired records every `everyMs`, in batches of `batch` with a pause between them (other
 * writes go first), at most `maxBatches` per round: a backlog is worked off over a few rounds.
 */
export function startKvSweep(kv: EmbeddedKv, o: { everyMs: number; batch: number; maxBatches: number; onError(err: unknown): void }): { stop(): void } {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void (async () => {
      for (let i = 0; i < o.maxBatches; i++) {
        if ((await kv.sweep(o.batch)) < o.batch) break;
        await new Promise((r) => setImmediate(r));
      }
    })().catch(o.onError).finally(() => (running = false));
  }, o.everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
