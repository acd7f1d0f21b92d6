import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { newId } from '../../core/ids.ts';
import type { AcceptOutcome, BlobStore } from '../../core/connector.ts';
import { JobPayload, type DeadLetter, type Job, type Link, type LinkStore, type NewJob, type Throttled } from '../../core/jobs.ts';
import type { RunOutcome } from '../../core/pipeline.ts';
import type { Retention } from '../../core/retention.ts';
import { CLASS_COUNT, provisionalClass, queuedByClass } from '../classes.ts';
import type { AttemptRecord } from '../failure.ts';
import type { FloodMeter } from '../flood.ts';
import { createEmbeddedKv, type EmbeddedKv } from './kv.ts';
import type { DeadLetterQueue, RuntimeStats } from '../runtime.ts';
import { UNCLASSIFIED } from './database.ts';
import { LaneBook, type Head } from './lane-book.ts';
import { LaneSeqs } from './lane-seqs.ts';
import { Ledger } from './ledger.ts';
import { OPEN_GATE, type WriteGate } from './checkpointer.ts';

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
  class: number;
  throttled: string | null;
}

export interface StoredJob extends Job {
  seq: number;
  failures: number;
  runAt: number;
  /** Its scheduling class as booked when it was read (provisional if not classified yet). */
  cls: number;
  /** Classified when it was read (not waiting with its provisional class): counted in the stats' classes. */
  classified: boolean;
}

/** A queued job the worker has yet to classify; the payload is kept while the queue is short. */
interface Unclassified {
  seq: number;
  lane: string;
  job?: Job;
}

/** A lane the worker took: its jobs (head and batch) and the class it was taken in. */
export interface TakenLane {
  jobs: StoredJob[];
  cls: number;
}

/**
 * Queued jobs not classified yet that are kept in memory, with their payloads, for the worker to
 * classify; beyond this the table holds them alone and the worker reads them back in chunks, as
 * after a restart. A backlog of 500,000 then costs the heap (and every major GC) 10,000 entries.
 */
const KEEP_UNCLASSIFIED = 10_000;
/** Queued jobs looked at per read of the table's unclassified ones (after a restart). */
const UNCLASSIFIED_CHUNK = 5000;
/**
 * A group commit waits at most this long for the checkpoint thread (WriteGate); after that it
 * goes ahead and, if the thread is restarting the WAL, waits in SQLite's busy handler as every
 * write did before (a hold takes 2–7 ms; a restart that waits for a long read from a shell could
 * take seconds).
 */
const MAX_HOLD_MS = 500;

/**
 * The embedded store's tables behind small methods. Writes arriving in the same
 * tick are committed together (group commit): one transaction, one WAL append.
 */
export class EmbeddedStore {
  readonly db: DatabaseSync;
  private pending: PendingWrite[] = [];
  private pendingLast: PendingWrite[] = [];
  private newWork = false;
  private flushScheduled = false;
  private readonly stmt: Record<string, StatementSync>;
  onEnqueued: () => void = () => {};
  /** Batched jobs (albums) wait this long so the rest of the batch can arrive. */
  private readonly batchSettleMs: number;
  /**
   * Every lane with queued work, kept in step with every write this process makes (see
   * LaneBook). Rebuilt from the table when another connection committed (`switchboard dlq
   * replay` from a shell) or a transaction of ours rolled back.
   */
  private readonly book = new LaneBook();
  /** Each lane's queued jobs in order, kept with the book (the table has no index by lane). */
  private readonly seqs = new LaneSeqs();
  private bookStale = true;
  private bookVersion = -1;
  /** Jobs queued but not classified yet, by seq, oldest first; a job that runs or goes leaves it. */
  private unclassified = new Map<number, Unclassified>();
  /**
   * After a rebuild the table's unclassified jobs are read in chunks, when classifying needs them
   * (not on the way to being ready): the seq the next chunk starts after; undefined: all read.
   */
  private unclassifiedFrom: number | undefined;
  /** Queued jobs classified into each class, kept with the book (stats: the rest are not classified yet). */
  private classified = countsOf();
  private readonly flood: FloodMeter | undefined;

  readonly kv: EmbeddedKv;
  private readonly ledger: Ledger;

  /** How many queued, unclassified jobs are kept in memory (KEEP_UNCLASSIFIED; tests make it small). */
  private readonly keepUnclassified: number;
  /** Taking turns with the checkpoint thread, which holds writes back for a moment now and then. */
  private readonly gate: WriteGate;
  /** When the group commit started waiting for the gate. */
  private heldSince: number | undefined;

  constructor(
    db: DatabaseSync,
    opts: {
      batchSettleMs?: number;
      flood?: FloodMeter;
      retention?: Readonly<Retention>;
      kvClock?: () => number;
      keepUnclassified?: number;
      gate?: WriteGate;
      /** Keys the ledger's log collects before they move into its index (see Ledger; tests make it small). */
      logKeys?: number;
    } = {},
  ) {
    this.db = db;
    this.gate = opts.gate ?? OPEN_GATE;
    this.keepUnclassified = opts.keepUnclassified ?? KEEP_UNCLASSIFIED;
    this.batchSettleMs = opts.batchSettleMs ?? 1500;
    this.flood = opts.flood;
    this.ledger = new Ledger(db, opts.logKeys);
    this.kv = createEmbeddedKv(db, (op) => this.write(op), { retention: opts.retention, now: opts.kvClock });
    this.stmt = {
      insertJob: db.prepare(
        'INSERT INTO jobs (id, dedupe_key, lane, target, batch_key, payload, run_at, created_at, class, throttled) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      // Every queued job by lane, in one pass over the queue index (a rebuild: restart, another process wrote).
      // (No ORDER BY in the aggregate: it costs a third more, and the seqs are put in order if they come out of it.)
      queuedLanes: db.prepare(`SELECT lane, group_concat(seq) AS seqs, group_concat(class) AS classes FROM jobs WHERE state = 'queued' GROUP BY lane`),
      unclassified: db.prepare(`
        SELECT seq, lane FROM jobs WHERE state = 'queued' AND seq > ? AND class >= ${UNCLASSIFIED}
        ORDER BY seq LIMIT ${UNCLASSIFIED_CHUNK}`),
      setClass: db.prepare(`UPDATE jobs SET class = ? WHERE seq = ? AND state = 'queued' AND class >= ${UNCLASSIFIED}`),
      headBySeq: db.prepare(`SELECT seq, run_at, target FROM jobs WHERE seq = ? AND state = 'queued'`),
      bySeq: db.prepare(`SELECT * FROM jobs WHERE seq = ? AND state = 'queued'`),
      dataVersion: db.prepare('PRAGMA data_version'),
      start: db.prepare('UPDATE jobs SET attempts = attempts + 1, ambiguous = 1 WHERE id = ?'),
      done: db.prepare('DELETE FROM jobs WHERE id = ?'),
      retry: db.prepare('UPDATE jobs SET run_at = ?, failures = ?, ambiguous = ?, error = ?, detail = ?, status = ? WHERE id = ?'),
      dead: db.prepare(`UPDATE jobs SET state = 'dead', error = ?, detail = ?, status = ?, failed_at = ?, ambiguous = ? WHERE id = ?`),
      linkGet: db.prepare('SELECT data FROM links WHERE conversation_key = ?'),
      linkByTicket: db.prepare('SELECT l.data FROM ticket_links t JOIN links l ON l.conversation_key = t.conversation_key WHERE t.ticket_id = ?'),
      linkPut: db.prepare('INSERT INTO links (conversation_key, ticket_id, data) VALUES (?, ?, ?) ON CONFLICT (conversation_key) DO UPDATE SET ticket_id = excluded.ticket_id, data = excluded.data'),
      // A ticket's latest conversation: an older write (a delivery that finished late) does not take it back.
      ticketLinkPut: db.prepare(`INSERT INTO ticket_links (ticket_id, conversation_key, latest_at) VALUES (?, ?, ?)
        ON CONFLICT (ticket_id) DO UPDATE SET conversation_key = excluded.conversation_key, latest_at = excluded.latest_at WHERE excluded.latest_at >= ticket_links.latest_at`),
      blobPut: db.prepare('INSERT INTO blobs (key, data, created_at) VALUES (?, ?, ?)'),
      blobGet: db.prepare('SELECT data FROM blobs WHERE key = ?'),
      blobDelete: db.prepare('DELETE FROM blobs WHERE key = ?'),
      deadList: db.prepare(`SELECT * FROM jobs WHERE state = 'dead' ORDER BY failed_at DESC LIMIT ?`),
      deadGet: db.prepare(`SELECT * FROM jobs WHERE state = 'dead' AND id = ?`),
      replayOne: db.prepare(`UPDATE jobs SET state = 'queued', attempts = 0, failures = 0, ambiguous = 0, run_at = ?, seq = (SELECT MAX(seq) + 1 FROM jobs) WHERE state = 'dead' AND id = ?`),
      deadIds: db.prepare(`SELECT id FROM jobs WHERE state = 'dead' ORDER BY seq`),
      dropOne: db.prepare(`DELETE FROM jobs WHERE state = 'dead' AND id = ?`),
      dropAll: db.prepare(`DELETE FROM jobs WHERE state = 'dead'`),
      // Counted on the queue index, and the oldest found in seq order: a scrape never reads the payloads.
      countQueued: db.prepare(`SELECT COUNT(*) AS n FROM jobs WHERE state = 'queued'`),
      countDead: db.prepare(`SELECT COUNT(*) AS n FROM jobs WHERE state = 'dead'`),
      oldestQueued: db.prepare(`SELECT created_at FROM jobs WHERE state = 'queued' ORDER BY seq LIMIT 1`),
    };
  }

  /** Durable insert-if-absent. Resolves after the transaction that holds these jobs committed. */
  enqueue(jobs: NewJob[]): Promise<AcceptOutcome[]> {
    if (jobs.length === 0) return Promise.resolve([]);
    return this.write(() => jobs.map((job) => this.insertIfAbsent(job, Date.now(), this.batchSettleMs)));
  }

  private insertIfAbsent(job: NewJob, now: number, settleMs: number): AcceptOutcome {
    const id = newId();
    if (this.ledger.claim(job.dedupeKey, id, now)) {
      const runAt = job.batchKey ? now + settleMs : now;
      const throttled = job.sender === undefined ? undefined : this.flood?.mark(job.sender, now);
      const cls = provisionalClass(throttled !== undefined);
      const seq = this.insert(id, job, runAt, now, cls, throttled);
      this.seqs.push(job.lane, seq);
      // A new job heads its lane only if the lane had nothing queued.
      if (this.book.has(job.lane)) this.book.count(job.lane, cls, +1, now);
      else this.book.add(job.lane, { seq, runAt, target: job.target }, countsOf(cls), now);
      if (this.unclassified.size < this.keepUnclassified) {
        const kept: Job = { ...job, id, attempts: 0, createdAt: now, ambiguous: false, ...(throttled ? { throttled } : {}) };
        this.unclassified.set(seq, { seq, lane: job.lane, job: kept });
      } else this.unclassifiedFrom ??= seq - 1;
      this.newWork = true;
      return { id, dedupeKey: job.dedupeKey, duplicate: false };
    }
    return { id: this.ledger.jobOf(job.dedupeKey) ?? id, dedupeKey: job.dedupeKey, duplicate: true };
  }

  /**
   * Group commit: every write asked for in one event-loop turn runs in one transaction (one
   * WAL append), and each caller hears back only once that transaction committed. If the
   * shared transaction fails, each write is tried alone so one bad write fails only itself.
   * A `last` write runs after the others of its transaction (taking lanes after completions).
   */
  private write<T>(op: () => T, last = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const w = { run: op, resolve: resolve as (value: unknown) => void, reject };
      if (last) this.pendingLast.push(w);
      else this.pending.push(w);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.pending.length + this.pendingLast.length === 0) return;
    if (!this.enterGate()) {
      // Wait on a timer: the event loop keeps reading and answering meanwhile.
      this.flushScheduled = true;
      setTimeout(() => this.flush(), 1);
      return;
    }
    try {
      this.commitPending();
    } finally {
      this.gate.leave();
    }
  }

  private commitPending(): void {
    const batch = [...this.pending, ...this.pendingLast];
    this.pending = [];
    this.pendingLast = [];
    let results: unknown[];
    try {
      this.begin();
      results = batch.map((w) => w.run());
      this.ledger.moveOn();
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

  private enterGate(): boolean {
    const now = Date.now();
    if (this.gate.enter(this.heldSince !== undefined && now - this.heldSince >= MAX_HOLD_MS)) {
      this.heldSince = undefined;
      return true;
    }
    this.heldSince ??= now;
    return false;
  }

  private writeAlone(w: PendingWrite): void {
    try {
      this.begin();
      const value = w.run();
      this.db.exec('COMMIT');
      w.resolve(value);
    } catch (err) {
      this.rollback();
      w.reject(err);
    }
  }

  /** Every write transaction starts here: the ledger reads what other connections claimed meanwhile. */
  private begin(): void {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      this.ledger.sync();
    } catch (err) {
      this.rollback();
      throw err;
    }
  }

  private rollback(): void {
    try {
      this.db.exec('ROLLBACK');
    } catch {
      // the failed statement may already have ended the transaction
    }
    // The book may hold heads of rolled-back inserts: rebuild it from the table.
    this.bookStale = true;
    this.ledger.rolledBack();
  }

  private wakeIfNewWork(): void {
    if (!this.newWork) return;
    this.newWork = false;
    this.onEnqueued();
  }

  private insert(id: string, job: NewJob, runAt: number, now: number, cls: number, throttled: Throttled | undefined): number {
    const res = this.stmt.insertJob!.run(
      id, job.dedupeKey, job.lane, job.target, job.batchKey ?? null, JSON.stringify(job.payload), runAt, now, UNCLASSIFIED + cls, throttled ?? null,
    );
    return Number(res.lastInsertRowid);
  }

  /** The lane's jobs changed (done, failed, dead): it gets its new head and goes to the back of its class. */
  private settleLane(lane: string): void {
    const seq = this.seqs.first(lane);
    const row = seq === undefined ? undefined : (this.stmt.headBySeq!.get(seq) as { seq: number; run_at: number; target: string } | undefined);
    // Changed behind our back: the lane waits for the rebuild the next decision makes.
    if (seq !== undefined && !row) this.bookStale = true;
    this.book.settle(lane, row ? { seq: row.seq, runAt: row.run_at, target: row.target } : undefined, Date.now());
  }

  private rebuildIfStale(): void {
    // data_version moves only when another connection commits; our own writes keep the book.
    const version = (this.stmt.dataVersion!.get() as { data_version: number }).data_version;
    if (!this.bookStale && version === this.bookVersion) return;
    const now = Date.now();
    const classified = countsOf();
    const running = new Map(this.book.runningLanes().map((l) => [l.name, l.runningSeqs]));
    this.book.clear();
    this.seqs.clear();
    let changed = false;
    const lanes = this.stmt.queuedLanes!.all() as { lane: string; seqs: string; classes: string }[];
    // Lanes join the book in the order their heads were queued, as they became ready.
    const heads = lanes.map((r) => ({ lane: r.lane, seqs: ascending(r.seqs.split(',').map(Number)), classes: r.classes })).sort((a, b) => a.seqs[0]! - b.seqs[0]!);
    for (const r of heads) {
      const row = this.stmt.headBySeq!.get(r.seqs[0]!) as { seq: number; run_at: number; target: string } | undefined;
      // Another process took it between the two reads: the lane waits for the next rebuild.
      if (!row) {
        changed = true;
        continue;
      }
      const counts = countsOf();
      for (const c of r.classes.split(',')) {
        const cls = Number(c);
        counts[cls % UNCLASSIFIED]!++;
        if (cls < UNCLASSIFIED) classified[cls]!++;
      }
      const head: Head = { seq: row.seq, runAt: row.run_at, target: row.target };
      this.seqs.set(r.lane, r.seqs);
      const runningSeqs = running.get(r.lane);
      // A lane being delivered stays with its worker; it settles when the delivery ends.
      if (runningSeqs) this.book.keepRunning(r.lane, head, counts, runningSeqs);
      else this.book.add(r.lane, head, counts, now);
    }
    this.unclassified = new Map();
    this.unclassifiedFrom = 0;
    this.classified = classified;
    this.bookStale = changed;
    this.bookVersion = version;
  }

  /**
   * Takes up to `free()` due lanes, most urgent class first and round-robin within a class,
   * skipping targets that are `paused`, with each head's batch, and records their jobs as
   * started (so a crash during delivery is known to need reconciling). It happens in the next
   * group commit, together with the completions written in this turn of the event loop: one
   * transaction, and the deliveries start as soon as it commits. The lanes are the caller's
   * until they settle (complete, retry, kill, abandon).
   */
  takeAndStart(free: () => number, paused: (target: string) => boolean): Promise<TakenLane[]> {
    let taken: TakenLane[] = [];
    return this.write(() => {
      // A shared transaction that failed is tried again alone: give back what the first try took.
      for (const t of taken) this.settleLane(t.jobs[0]!.lane);
      this.rebuildIfStale();
      taken = [];
      for (const head of this.book.take(Date.now(), free(), paused)) {
        const row = this.stmt.bySeq!.get(head.seq) as unknown as JobRow | undefined;
        if (!row) {
          // Changed behind our back; read the table again next time round.
          this.abandon(head.lane);
          this.bookStale = true;
          continue;
        }
        const jobs = this.batchFrom(toJob(row));
        for (const j of jobs) this.stmt.start!.run(j.id);
        taken.push({ jobs, cls: head.cls });
      }
      return taken;
    }, true);
  }

  /** The head and the consecutive queued jobs of its lane that share its batch key. */
  private batchFrom(head: StoredJob, max = 20): StoredJob[] {
    if (!head.batchKey) return [head];
    const out: StoredJob[] = [head];
    for (const seq of this.seqs.from(head.lane, head.seq, max).slice(1)) {
      const row = this.stmt.bySeq!.get(seq) as unknown as JobRow | undefined;
      if (!row || row.batch_key !== head.batchKey) break;
      out.push(toJob(row));
    }
    this.book.setRunning(head.lane, out.map((j) => j.seq));
    return out;
  }

  /** Whether a round could take a lane now: one is ready or due (the table read again if another connection wrote). */
  hasDue(now: number): boolean {
    this.rebuildIfStale();
    const due = this.book.nextDue();
    return this.book.readyCount > 0 || (due !== undefined && due <= now);
  }

  /** When the next delayed lane is due. */
  nextDue(): number | undefined {
    return this.book.nextDue();
  }

  /** Up to `max` queued jobs to classify, oldest first (read back from the table when not kept). */
  takeUnclassified(max: number): { seq: number; lane: string; job: Job }[] {
    this.rebuildIfStale();
    if (this.unclassified.size < max) this.readUnclassified();
    const out: { seq: number; lane: string; job: Job }[] = [];
    for (const u of this.unclassified.values()) {
      if (out.length >= max) break;
      this.unclassified.delete(u.seq);
      if (u.job) {
        out.push({ seq: u.seq, lane: u.lane, job: u.job });
        continue;
      }
      const row = this.stmt.bySeq!.get(u.seq) as unknown as JobRow | undefined;
      if (row && row.class >= UNCLASSIFIED) out.push({ seq: u.seq, lane: u.lane, job: toJob(row) });
    }
    return out;
  }

  /**
   * Whether classifying would change anything: there are jobs not classified yet and more lanes
   * ready than the worker can take now. Without a queue to order, nothing is classified: a job
   * the worker takes at once never needs a class.
   */
  classifyingMatters(free: number): boolean {
    this.rebuildIfStale();
    return (this.unclassified.size > 0 || this.unclassifiedFrom !== undefined) && this.book.readyCount > free;
  }

  /**
   * The next chunk of the table's unclassified jobs, in seq order (after a rebuild, or once more
   * were queued than are kept). One queued and not kept while a read is under way comes after it
   * (seqs grow), so that read finds it; with none under way, a read starts right before it.
   */
  private readUnclassified(): void {
    const from = this.unclassifiedFrom;
    if (from === undefined) return;
    const rows = this.stmt.unclassified!.all(from) as { seq: number; lane: string }[];
    for (const r of rows) if (!this.unclassified.has(r.seq)) this.unclassified.set(r.seq, { seq: r.seq, lane: r.lane });
    const last = rows[rows.length - 1];
    this.unclassifiedFrom = rows.length < UNCLASSIFIED_CHUNK || !last ? undefined : last.seq;
  }

  /**
   * Books the classes the worker found (`from`: the provisional class the job waited with). A job
   * that finished or started meanwhile keeps what it had.
   */
  setClasses(results: { seq: number; lane: string; from: number; cls: number }[]): void {
    this.tx(() => {
      const now = Date.now();
      for (const r of results) {
        if (this.book.isRunning(r.lane, r.seq)) continue;
        if (this.stmt.setClass!.run(r.cls, r.seq).changes === 1) {
          this.book.reclass(r.lane, r.from, r.cls, now);
          this.classified[r.cls]!++;
        }
      }
    });
  }

  /**
   * Jobs of one lane (a head and its batch) are done; the lane's next job becomes its head. What
   * the delivery left (the conversation's link, follow-up work) is written in the same transaction.
   */
  complete(jobs: StoredJob[], outcome: RunOutcome | void): Promise<void> {
    return this.write(() => {
      const now = Date.now();
      for (const j of jobs) this.stmt.done!.run(j.id);
      if (outcome?.link) this.putLink(outcome.link);
      for (const next of outcome?.enqueue ?? []) this.insertIfAbsent(next, now, this.batchSettleMs);
      this.uncount(jobs);
      this.settleLane(jobs[0]!.lane);
    });
  }

  /** A lane whose outcome could not be recorded: it goes back to waiting as the table has it. */
  abandon(lane: string): void {
    try {
      this.settleLane(lane);
    } catch {
      this.book.settle(lane, undefined, Date.now());
      this.bookStale = true;
    }
  }

  /** Something failed half-way: read the table again before the next decision. */
  markStale(): void {
    this.bookStale = true;
  }

  scheduleRetry(job: StoredJob, runAt: number, failures: number, rec: AttemptRecord): void {
    this.stmt.retry!.run(runAt, failures, rec.ambiguous ? 1 : 0, rec.error, rec.detail ?? null, rec.status ?? null, job.id);
    this.settleLane(job.lane);
  }

  /** Dead-letters jobs of one lane and enqueues the follow-up work in the same transaction. */
  kill(jobs: StoredJob[], rec: AttemptRecord, followUps: NewJob[]): void {
    this.tx(() => {
      const now = Date.now();
      for (const job of jobs) this.stmt.dead!.run(rec.error, rec.detail ?? null, rec.status ?? null, now, rec.ambiguous ? 1 : 0, job.id);
      for (const next of followUps) this.insertIfAbsent(next, now, 0);
      this.uncount(jobs);
      this.settleLane(jobs[0]!.lane);
    });
    this.wakeIfNewWork();
  }

  private uncount(jobs: StoredJob[]): void {
    const now = Date.now();
    for (const j of jobs) {
      this.book.count(j.lane, j.cls, -1, now);
      if (j.classified) this.classified[j.cls]!--;
      this.unclassified.delete(j.seq);
      this.seqs.remove(j.lane, j.seq);
    }
  }

  private tx(fn: () => void): void {
    this.begin();
    try {
      fn();
      this.db.exec('COMMIT');
    } catch (err) {
      this.rollback();
      throw err;
    }
  }

  private putLink(link: Link): void {
    this.stmt.linkPut!.run(link.conversationKey, link.ticketId, JSON.stringify(link));
    this.stmt.ticketLinkPut!.run(link.ticketId, link.conversationKey, link.latestAt ?? 0);
  }

  readonly links: LinkStore = {
    get: async (key) => parseLink(this.stmt.linkGet!.get(key)),
    byTicket: async (ticketId) => parseLink(this.stmt.linkByTicket!.get(ticketId)),
    put: (link: Link) => this.write(() => this.putLink(link)),
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
        this.bookStale = true;
        this.onEnqueued();
      }
      return n;
    },
    drop: async (id) => Number((id === 'all' ? this.stmt.dropAll!.run() : this.stmt.dropOne!.run(id)).changes),
  };

  stats(inFlight: number): RuntimeStats {
    // Brings the class counts up to date when another connection changed the table (a replay from a shell).
    this.rebuildIfStale();
    const oldest = (this.stmt.oldestQueued!.get() as { created_at: number } | undefined)?.created_at;
    const queued = (this.stmt.countQueued!.get() as { n: number }).n;
    return {
      queued,
      dead: (this.stmt.countDead!.get() as { n: number }).n,
      inFlight,
      oldestQueuedMs: oldest === undefined ? 0 : Date.now() - oldest,
      queuedByClass: queuedByClass(this.classified, queued),
    };
  }

  /** On a graceful stop: every recent dedupe key into the ledger's index (see Ledger.moveAll). */
  settleLedger(): void {
    this.tx(() => this.ledger.moveAll());
  }

  /** Forget dedupe keys of finished jobs older than the retention (channels stop redelivering long before). */
  pruneLedger(retentionMs: number, now = Date.now()): number {
    return this.ledger.prune(now - retentionMs);
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
    cls: r.class % UNCLASSIFIED,
    classified: r.class < UNCLASSIFIED,
    ...(r.throttled === 'first' || r.throttled === 'more' ? { throttled: r.throttled } : {}),
  };
}

function ascending(seqs: number[]): number[] {
  for (let i = 1; i < seqs.length; i++) if (seqs[i]! < seqs[i - 1]!) return seqs.sort((a, b) => a - b);
  return seqs;
}

function countsOf(cls?: number): number[] {
  const counts = new Array<number>(CLASS_COUNT).fill(0);
  if (cls !== undefined) counts[cls] = 1;
  return counts;
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
