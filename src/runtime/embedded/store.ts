import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { newId } from '../../core/ids.ts';
import type { AcceptOutcome, BlobStore, KeyValueStore } from '../../core/connector.ts';
import { claimSlot } from '../window-slots.ts';
import { JobPayload, type DeadLetter, type Job, type Link, type LinkStore, type NewJob } from '../../core/jobs.ts';
import type { DeadLetterQueue, RuntimeStats } from '../runtime.ts';

interface PendingWrite {
  run(): unknown;
  resolve(value: unknown): void;
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

/** What the worker needs to pick a lane: its lowest queued job, when it is due, where it goes. */
interface LaneHead {
  seq: number;
  runAt: number;
  target: string;
}

/**
 * The embedded store's tables behind small methods. Writes arriving in the same
 * tick are committed together (group commit): one transaction, one WAL append.
 */
export class EmbeddedStore {
  readonly db: DatabaseSync;
  private pending: PendingWrite[] = [];
  private newWork = false;
  private flushScheduled = false;
  private readonly stmt: Record<string, StatementSync>;
  onEnqueued: () => void = () => {};
  /** Batched jobs (albums) wait this long so the rest of the batch can arrive. */
  private readonly batchSettleMs: number;
  /**
   * Lane → head, kept in step with every write this process makes, so finding work costs
   * the lanes looked at, not the whole backlog. Map order is the order lanes became ready,
   * which makes lanes take turns. Rebuilt from the table when another connection committed
   * (`switchboard dlq replay` from a shell) or a transaction of ours rolled back.
   */
  private readonly laneHeads = new Map<string, LaneHead>();
  private indexStale = true;
  private indexedVersion = -1;

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
        SELECT j.lane, j.seq, j.run_at, j.target FROM jobs j
        JOIN (SELECT lane, MIN(seq) AS seq FROM jobs WHERE state = 'queued' GROUP BY lane) h ON j.seq = h.seq
        ORDER BY j.run_at, j.seq`),
      laneHead: db.prepare(`SELECT seq, run_at, target FROM jobs WHERE state = 'queued' AND lane = ? ORDER BY seq LIMIT 1`),
      bySeq: db.prepare(`SELECT * FROM jobs WHERE seq = ? AND state = 'queued'`),
      dataVersion: db.prepare('PRAGMA data_version'),
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
    return this.write(() => jobs.map((job) => this.insertIfAbsent(job, Date.now(), this.batchSettleMs)));
  }

  private insertIfAbsent(job: NewJob, now: number, settleMs: number): AcceptOutcome {
    const id = newId();
    if (this.stmt.claimKey!.run(job.dedupeKey, id, now).changes === 1) {
      const runAt = job.batchKey ? now + settleMs : now;
      const seq = this.insert(id, job, runAt, now);
      // A new job heads its lane only if the lane had nothing queued.
      if (!this.laneHeads.has(job.lane)) this.laneHeads.set(job.lane, { seq, runAt, target: job.target });
      this.newWork = true;
      return { id, dedupeKey: job.dedupeKey, duplicate: false };
    }
    const row = this.stmt.lookupKey!.get(job.dedupeKey) as { job_id: string } | undefined;
    return { id: row?.job_id ?? id, dedupeKey: job.dedupeKey, duplicate: true };
  }

  /**
   * Group commit: every write asked for in one event-loop turn runs in one transaction (one
   * WAL append), and each caller hears back only once that transaction committed. If the
   * shared transaction fails, each write is tried alone so one bad write fails only itself.
   */
  private write<T>(op: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ run: op, resolve: resolve as (value: unknown) => void, reject });
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
    let results: unknown[];
    try {
      this.db.exec('BEGIN IMMEDIATE');
      results = batch.map((w) => w.run());
      this.db.exec('COMMIT');
    } catch (err) {
      this.rollback();
      if (batch.length === 1) batch[0]!.reject(err);
      else for (const w of batch) this.writeAlone(w);
      this.wakeIfNewWork();
      return;
    }
    batch.forEach((w, i) => w.resolve(results[i]));
    this.wakeIfNewWork();
  }

  private writeAlone(w: PendingWrite): void {
    try {
      this.db.exec('BEGIN IMMEDIATE');
      const value = w.run();
      this.db.exec('COMMIT');
      w.resolve(value);
    } catch (err) {
      this.rollback();
      w.reject(err);
    }
  }

  private rollback(): void {
    try {
      this.db.exec('ROLLBACK');
    } catch {
      // the failed statement may already have ended the transaction
    }
    // The lane index may hold heads of rolled-back inserts: rebuild it from the table.
    this.indexStale = true;
  }

  private wakeIfNewWork(): void {
    if (!this.newWork) return;
    this.newWork = false;
    this.onEnqueued();
  }

  private insert(id: string, job: NewJob, runAt: number, now: number): number {
    const res = this.stmt.insertJob!.run(id, job.dedupeKey, job.lane, job.target, job.batchKey ?? null, JSON.stringify(job.payload), runAt, now);
    return Number(res.lastInsertRowid);
  }

  /** Re-reads a lane's head after its jobs changed; the lane goes to the back of the line. */
  private refreshLane(lane: string): void {
    this.laneHeads.delete(lane);
    const row = this.stmt.laneHead!.get(lane) as { seq: number; run_at: number; target: string } | undefined;
    if (row) this.laneHeads.set(lane, { seq: row.seq, runAt: row.run_at, target: row.target });
  }

  private reindexIfStale(): void {
    // data_version moves only when another connection commits; our own writes keep the index.
    const version = (this.stmt.dataVersion!.get() as { data_version: number }).data_version;
    if (!this.indexStale && version === this.indexedVersion) return;
    this.laneHeads.clear();
    for (const r of this.stmt.heads!.all() as { lane: string; seq: number; run_at: number; target: string }[]) {
      this.laneHeads.set(r.lane, { seq: r.seq, runAt: r.run_at, target: r.target });
    }
    this.indexStale = false;
    this.indexedVersion = version;
  }

  /**
   * Up to `max` lane heads that are due and not refused by `skip` (a busy lane, a paused
   * target), lanes in the order they became ready. Only these are read and parsed.
   */
  dueHeads(now: number, max: number, skip: (lane: string, target: string) => boolean): StoredJob[] {
    this.reindexIfStale();
    const out: StoredJob[] = [];
    if (max <= 0) return out;
    for (const [lane, head] of this.laneHeads) {
      if (head.runAt > now || skip(lane, head.target)) continue;
      const row = this.stmt.bySeq!.get(head.seq) as unknown as JobRow | undefined;
      if (!row) {
        // Changed behind our back; read the table again next time round.
        this.indexStale = true;
        continue;
      }
      out.push(toJob(row));
      if (out.length >= max) break;
    }
    return out;
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

  /** Recorded before delivery starts, so a crash during it is known to need reconciling. */
  markStarted(jobs: StoredJob[]): Promise<void> {
    return this.write(() => jobs.forEach((j) => this.stmt.start!.run(j.id)));
  }

  /** Jobs of one lane (a head and its batch) are done; the lane's next job becomes its head. */
  complete(jobs: StoredJob[]): Promise<void> {
    return this.write(() => {
      for (const j of jobs) this.stmt.done!.run(j.id);
      this.refreshLane(jobs[0]!.lane);
    });
  }

  scheduleRetry(job: StoredJob, runAt: number, failures: number, ambiguous: boolean, error: string, detail?: string, status?: number): void {
    this.stmt.retry!.run(runAt, failures, ambiguous ? 1 : 0, error, detail ?? null, status ?? null, job.id);
    this.refreshLane(job.lane);
  }

  /** Dead-letters a job and enqueues its follow-up work in the same transaction. */
  kill(job: StoredJob, error: string, detail: string | undefined, status: number | undefined, ambiguous: boolean, followUps: NewJob[]): void {
    this.tx(() => {
      const now = Date.now();
      this.stmt.dead!.run(error, detail ?? null, status ?? null, now, ambiguous ? 1 : 0, job.id);
      for (const next of followUps) this.insertIfAbsent(next, now, 0);
      this.refreshLane(job.lane);
    });
    this.wakeIfNewWork();
  }

  private tx(fn: () => void): void {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      fn();
      this.db.exec('COMMIT');
    } catch (err) {
      this.rollback();
      throw err;
    }
  }

  readonly links: LinkStore = {
    get: async (key) => parseLink(this.stmt.linkGet!.get(key)),
    byTicket: async (ticketId) => parseLink(this.stmt.linkByTicket!.get(ticketId)),
    put: (link: Link) =>
      this.write(() => {
        this.stmt.linkPut!.run(link.conversationKey, link.ticketId, JSON.stringify(link));
        this.stmt.ticketLinkPut!.run(link.ticketId, link.conversationKey);
      }),
  };

  readonly kv: KeyValueStore = {
    get: async (key) => (this.stmt.kvGet!.get(key) as { value: string } | undefined)?.value,
    set: (key, value) => this.write(() => void this.stmt.kvSet!.run(key, value)),
    delete: (key) => this.write(() => void this.stmt.kvDelete!.run(key)),
    // Read and write in one synchronous step of one transaction: nothing can come in between.
    claimInWindow: (key, id, limit, windowMs) => this.write(() => {
      const row = this.stmt.kvGet!.get(key) as { value: string } | undefined;
      const { claimed, value } = claimSlot(row?.value, id, limit, windowMs, Date.now());
      this.stmt.kvSet!.run(key, value);
      return claimed;
    }),
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
      if (n > 0) {
        this.indexStale = true;
        this.onEnqueued();
      }
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
