import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { newId } from '../../core/ids.ts';
import type { AcceptOutcome, BlobStore, KeyValueStore } from '../../core/connector.ts';
import { JobPayload, type DeadLetter, type Job, type Link, type LinkStore, type NewJob } from '../../core/jobs.ts';
import type { DeadLetterQueue, RuntimeStats } from '../runtime.ts';

interface Pending {
  jobs: NewJob[];
  resolve(out: AcceptOutcome[]): void;
  reject(err: unknown): void;
}

interface JobRow {
  seq: number;
  id: string;
  dedupe_key: string;
  lane: string;
  target: string;
  batch_key: string | null;
  payload: string;
  attempts: number;
  failures: number;
  ambiguous: number;
  run_at: number;
  created_at: number;
  error: string | null;
  detail: string | null;
  status: number | null;
  failed_at: number | null;
}

export interface StoredJob extends Job {
  seq: number;
  failures: number;
  runAt: number;
}

/**
 * The embedded store's tables behind small methods. Writes arriving in the same
 * tick are committed together (group commit): one transaction, one WAL append.
 */
export class EmbeddedStore {
  readonly db: DatabaseSync;
  private pending: Pending[] = [];
  private flushScheduled = false;
  private readonly stmt: Record<string, StatementSync>;
  onEnqueued: () => void = () => {};
  /** Batched jobs (albums) wait this long so the rest of the batch can arrive. */
  private readonly batchSettleMs: number;

  constructor(db: DatabaseSync, opts: { batchSettleMs?: number } = {}) {
    this.db = db;
    this.batchSettleMs = opts.batchSettleMs ?? 1500;
    this.stmt = {
      claimKey: db.prepare('INSERT OR IGNORE INTO ledger (dedupe_key, job_id, accepted_at) VALUES (?, ?, ?)'),
      lookupKey: db.prepare('SELECT job_id FROM ledger WHERE dedupe_key = ?'),
      insertJob: db.prepare(
        'INSERT INTO jobs (id, dedupe_key, lane, target, batch_key, payload, run_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      heads: db.prepare(`
        SELECT j.* FROM jobs j
        JOIN (SELECT lane, MIN(seq) AS seq FROM jobs WHERE state = 'queued' GROUP BY lane) h ON j.seq = h.seq
        ORDER BY j.run_at, j.seq LIMIT ?`),
      batch: db.prepare(`SELECT * FROM jobs WHERE state = 'queued' AND lane = ? AND seq >= ? ORDER BY seq LIMIT ?`),
      nextRunAt: db.prepare(`SELECT MIN(run_at) AS at FROM jobs WHERE state = 'queued'`),
      start: db.prepare('UPDATE jobs SET attempts = attempts + 1, ambiguous = 1 WHERE id = ?'),
      done: db.prepare('DELETE FROM jobs WHERE id = ?'),
      retry: db.prepare('UPDATE jobs SET run_at = ?, failures = ?, ambiguous = ?, error = ?, detail = ?, status = ? WHERE id = ?'),
      dead: db.prepare(`UPDATE jobs SET state = 'dead', error = ?, detail = ?, status = ?, failed_at = ?, ambiguous = ? WHERE id = ?`),
      linkGet: db.prepare('SELECT data FROM links WHERE conversation_key = ?'),
      linkByTicket: db.prepare('SELECT l.data FROM ticket_links t JOIN links l ON l.conversation_key = t.conversation_key WHERE t.ticket_id = ?'),
      linkPut: db.prepare('INSERT INTO links (conversation_key, ticket_id, data) VALUES (?, ?, ?) ON CONFLICT (conversation_key) DO UPDATE SET ticket_id = excluded.ticket_id, data = excluded.data'),
      ticketLinkPut: db.prepare('INSERT INTO ticket_links (ticket_id, conversation_key) VALUES (?, ?) ON CONFLICT (ticket_id) DO UPDATE SET conversation_key = excluded.conversation_key'),
      kvGet: db.prepare('SELECT value FROM kv WHERE key = ?'),
      kvSet: db.prepare('INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      kvDelete: db.prepare('DELETE FROM kv WHERE key = ?'),
      blobPut: db.prepare('INSERT INTO blobs (key, data, created_at) VALUES (?, ?, ?)'),
      blobGet: db.prepare('SELECT data FROM blobs WHERE key = ?'),
      blobDelete: db.prepare('DELETE FROM blobs WHERE key = ?'),
      deadList: db.prepare(`SELECT * FROM jobs WHERE state = 'dead' ORDER BY failed_at DESC LIMIT ?`),
      deadGet: db.prepare(`SELECT * FROM jobs WHERE state = 'dead' AND id = ?`),
      replayOne: db.prepare(`UPDATE jobs SET state = 'queued', attempts = 0, failures = 0, ambiguous = 0, run_at = ?, seq = (SELECT MAX(seq) + 1 FROM jobs) WHERE state = 'dead' AND id = ?`),
      deadIds: db.prepare(`SELECT id FROM jobs WHERE state = 'dead' ORDER BY seq`),
      dropOne: db.prepare(`DELETE FROM jobs WHERE state = 'dead' AND id = ?`),
      dropAll: db.prepare(`DELETE FROM jobs WHERE state = 'dead'`),
      counts: db.prepare(`SELECT state, COUNT(*) AS n, MIN(created_at) AS oldest FROM jobs GROUP BY state`),
      pruneLedger: db.prepare('DELETE FROM ledger WHERE accepted_at < ? AND job_id NOT IN (SELECT id FROM jobs)'),
    };
  }

  /** Durable insert-if-absent. Resolves after the transaction that holds these jobs committed. */
  enqueue(jobs: NewJob[]): Promise<AcceptOutcome[]> {
    if (jobs.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.pending.push({ jobs, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const now = Date.now();
    const results: AcceptOutcome[][] = [];
    try {
      this.db.exec('BEGIN IMMEDIATE');
      for (const p of batch) {
        const out: AcceptOutcome[] = [];
        for (const job of p.jobs) {
          const id = newId();
          const claimed = this.stmt.claimKey!.run(job.dedupeKey, id, now).changes === 1;
          if (claimed) {
            const runAt = job.batchKey ? now + this.batchSettleMs : now;
            this.stmt.insertJob!.run(id, job.dedupeKey, job.lane, job.target, job.batchKey ?? null, JSON.stringify(job.payload), runAt, now);
            out.push({ id, dedupeKey: job.dedupeKey, duplicate: false });
          } else {
            const row = this.stmt.lookupKey!.get(job.dedupeKey) as { job_id: string } | undefined;
            out.push({ id: row?.job_id ?? id, dedupeKey: job.dedupeKey, duplicate: true });
          }
        }
        results.push(out);
      }
      this.db.exec('COMMIT');
    } catch (err) {
      try {
        this.db.exec('ROLLBACK');
      } catch {
        // the failed statement may already have ended the transaction
      }
      for (const p of batch) p.reject(err);
      return;
    }
    batch.forEach((p, i) => p.resolve(results[i]!));
    if (results.some((r) => r.some((o) => !o.duplicate))) this.onEnqueued();
  }

  /** Heads of lanes, earliest due first. */
  heads(limit: number): StoredJob[] {
    return (this.stmt.heads!.all(limit) as unknown as JobRow[]).map(toJob);
  }

  /** The head and the consecutive queued jobs of its lane that share its batch key. */
  batchFrom(head: StoredJob, max = 20): StoredJob[] {
    if (!head.batchKey) return [head];
    const rows = (this.stmt.batch!.all(head.lane, head.seq, max) as unknown as JobRow[]).map(toJob);
    const out: StoredJob[] = [];
    for (const j of rows) {
      if (j.batchKey !== head.batchKey) break;
      out.push(j);
    }
    return out;
  }

  nextRunAt(): number | undefined {
    const row = this.stmt.nextRunAt!.get() as { at: number | null };
    return row.at ?? undefined;
  }

  markStarted(ids: string[]): void {
    this.tx(() => ids.forEach((id) => this.stmt.start!.run(id)));
  }

  complete(ids: string[]): void {
    this.tx(() => ids.forEach((id) => this.stmt.done!.run(id)));
  }

  scheduleRetry(id: string, runAt: number, failures: number, ambiguous: boolean, error: string, detail?: string, status?: number): void {
    this.stmt.retry!.run(runAt, failures, ambiguous ? 1 : 0, error, detail ?? null, status ?? null, id);
  }

  /** Dead-letters a job and enqueues its follow-up work in the same transaction. */
  kill(id: string, error: string, detail: string | undefined, status: number | undefined, ambiguous: boolean, followUps: NewJob[]): void {
    this.tx(() => {
      this.stmt.dead!.run(error, detail ?? null, status ?? null, Date.now(), ambiguous ? 1 : 0, id);
      const now = Date.now();
      for (const job of followUps) {
        const jid = newId();
        if (this.stmt.claimKey!.run(job.dedupeKey, jid, now).changes === 1) {
          this.stmt.insertJob!.run(jid, job.dedupeKey, job.lane, job.target, job.batchKey ?? null, JSON.stringify(job.payload), now, now);
        }
      }
    });
  }

  private tx(fn: () => void): void {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      fn();
      this.db.exec('COMMIT');
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }

  readonly links: LinkStore = {
    get: async (key) => parseLink(this.stmt.linkGet!.get(key)),
    byTicket: async (ticketId) => parseLink(this.stmt.linkByTicket!.get(ticketId)),
    put: async (link: Link) => {
      this.tx(() => {
        this.stmt.linkPut!.run(link.conversationKey, link.ticketId, JSON.stringify(link));
        this.stmt.ticketLinkPut!.run(link.ticketId, link.conversationKey);
      });
    },
  };

  readonly kv: KeyValueStore = {
    get: async (key) => (this.stmt.kvGet!.get(key) as { value: string } | undefined)?.value,
    set: async (key, value) => void this.stmt.kvSet!.run(key, value),
    delete: async (key) => void this.stmt.kvDelete!.run(key),
  };

  readonly blobs: BlobStore = {
    put: async (data) => {
      const key = newId();
      this.stmt.blobPut!.run(key, data, Date.now());
      return key;
    },
    get: async (key) => {
      const row = this.stmt.blobGet!.get(key) as { data: Uint8Array } | undefined;
      return row ? Buffer.from(row.data) : undefined;
    },
    delete: async (key) => void this.stmt.blobDelete!.run(key),
  };

  readonly dlq: DeadLetterQueue = {
    list: async (opts) => (this.stmt.deadList!.all(opts?.limit ?? 100) as unknown as JobRow[]).map(toDeadLetter),
    get: async (id) => {
      const row = this.stmt.deadGet!.get(id) as unknown as JobRow | undefined;
      return row ? toDeadLetter(row) : undefined;
    },
    replay: async (id) => {
      const ids = id === 'all' ? (this.stmt.deadIds!.all() as { id: string }[]).map((r) => r.id) : [id];
      let n = 0;
      this.tx(() => {
        for (const one of ids) n += Number(this.stmt.replayOne!.run(Date.now(), one).changes);
      });
      if (n > 0) this.onEnqueued();
      return n;
    },
    drop: async (id) => Number((id === 'all' ? this.stmt.dropAll!.run() : this.stmt.dropOne!.run(id)).changes),
  };

  stats(inFlight: number): RuntimeStats {
    const rows = this.stmt.counts!.all() as { state: string; n: number; oldest: number | null }[];
    const queued = rows.find((r) => r.state === 'queued');
    return {
      queued: queued?.n ?? 0,
      dead: rows.find((r) => r.state === 'dead')?.n ?? 0,
      inFlight,
      oldestQueuedMs: queued?.oldest ? Date.now() - queued.oldest : 0,
    };
  }

  /** Forget dedupe keys of finished jobs older than the retention (channels stop redelivering long before). */
  pruneLedger(retentionMs: number): number {
    return Number(this.stmt.pruneLedger!.run(Date.now() - retentionMs).changes);
  }
}

function toJob(r: JobRow): StoredJob {
  return {
    seq: r.seq,
    id: r.id,
    dedupeKey: r.dedupe_key,
    lane: r.lane,
    target: r.target,
    batchKey: r.batch_key ?? undefined,
    payload: JobPayload.parse(JSON.parse(r.payload)),
    attempts: r.attempts,
    failures: r.failures,
    ambiguous: r.ambiguous === 1,
    runAt: r.run_at,
    createdAt: r.created_at,
  };
}

function toDeadLetter(r: JobRow): DeadLetter {
  return {
    id: r.id,
    dedupeKey: r.dedupe_key,
    lane: r.lane,
    target: r.target,
    payload: JSON.parse(r.payload) as DeadLetter['payload'],
    attempts: r.attempts,
    error: r.error ?? '',
    detail: r.detail ?? undefined,
    status: r.status ?? undefined,
    failedAt: r.failed_at ?? 0,
  };
}

function parseLink(row: unknown): Link | undefined {
  const data = (row as { data?: string } | undefined)?.data;
  return data ? (JSON.parse(data) as Link) : undefined;
}
