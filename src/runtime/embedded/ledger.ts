import type { DatabaseSync, StatementSync } from 'node:sqlite';

/**
 * How many recent keys wait in the log before they move into the ledger's key index together:
 * the more wait, the more of them share a leaf of that index (a conversation's keys sit side by
 * side there). Also what a restart reads back, up to twice this (bench/profile-store.ts --frames).
 */
const LOG_KEYS = 20_000;
/**
 * Keys moved per group commit while a move is under way: twice what the commit claimed, so the log
 * cannot outgrow the moves, and at least this many (a commit of one ack, or of none, moves a few:
 * each commit's extra work stays small, so the paced tail does not feel it).
 */
const MOVE_AT_LEAST = 16;

/**
 * The embedded store's idempotency ledger: every dedupe key claimed, with its job, for the
 * retention. A key claimed straight into one large index (the retention keeps weeks of keys) lands
 * at its conversation's place there, so with hundreds of thousands of keys every claim of a group
 * commit dirtied an index leaf of its own, one 4 KB page into the WAL each. Here a claim appends
 * a row to `ledger_recent` (a log in claim order, no key index), and this process keeps the log's
 * keys in memory to decide duplicates; the keys move into `ledger` (the key index) a batch at a
 * time, in key order, so a conversation's keys of the batch share a leaf. The log and the move are
 * written in the caller's transaction, so a claim is as durable as its job, and a restart reads the
 * log back (at most about twice LOG_KEYS rows).
 *
 * Another connection (the CLI) may claim keys too: at the start of each write transaction the
 * rows it appended are read in (`sync`), so under the write lock the keys in memory are the log's.
 */
export class Ledger {
  private readonly stmt: Record<
    'claim' | 'jobOfLogged' | 'jobOfMain' | 'logFrom' | 'dataVersion' | 'moveSome' | 'moveAll' | 'dropMoved' | 'pruneMain' | 'pruneLog',
    StatementSync
  >;
  /** The log's keys with their seqs: what a claim checks before the index. */
  private logged = new Map<string, number>();
  /** The highest log seq read or written. */
  private lastSeq = 0;
  private version = -1;
  /** Keys claimed in the open transaction. */
  private claimed = 0;
  /** A move under way: the log's keys up to `upTo`, in key order, and how far it got. */
  private move: { keys: string[]; at: number; upTo: number } | undefined;
  private readonly logKeys: number;
  /** Memory may disagree with the table (a rollback): read the log again at the next transaction. */
  private stale = true;

  constructor(db: DatabaseSync, logKeys = LOG_KEYS) {
    this.logKeys = logKeys;
    this.stmt = {
      // Appended to the log unless the index has the key (the log's keys are checked in memory first).
      claim: db.prepare('INSERT INTO ledger_recent (dedupe_key, job_id, accepted_at) SELECT ?1, ?2, ?3 WHERE NOT EXISTS (SELECT 1 FROM ledger WHERE dedupe_key = ?1)'),
      jobOfLogged: db.prepare('SELECT job_id FROM ledger_recent WHERE seq = ?'),
      jobOfMain: db.prepare('SELECT job_id FROM ledger WHERE dedupe_key = ?'),
      logFrom: db.prepare('SELECT seq, dedupe_key FROM ledger_recent WHERE seq > ? ORDER BY seq'),
      dataVersion: db.prepare('PRAGMA data_version'),
      // The log rows of a JSON array of seqs, inserted in the array's order (key order).
      moveSome: db.prepare(`INSERT OR IGNORE INTO ledger (dedupe_key, job_id, accepted_at)
        SELECT r.dedupe_key, r.job_id, r.accepted_at FROM json_each(?) AS j CROSS JOIN ledger_recent AS r ON r.seq = j.value`),
      moveAll: db.prepare('INSERT OR IGNORE INTO ledger (dedupe_key, job_id, accepted_at) SELECT dedupe_key, job_id, accepted_at FROM ledger_recent ORDER BY dedupe_key'),
      dropMoved: db.prepare('DELETE FROM ledger_recent WHERE seq <= ?'),
      // Keys claimed before the first one newer than the cutoff (rowids grow as keys move in, in
      // batches in about the order they were claimed), unless their job is still there.
      pruneMain: db.prepare(`DELETE FROM ledger WHERE rowid < coalesce(
        (SELECT rowid FROM ledger WHERE accepted_at >= ? ORDER BY rowid LIMIT 1), (SELECT max(rowid) + 1 FROM ledger))
        AND job_id NOT IN (SELECT id FROM jobs)`),
      // The log is short: a scan. (Its keys wait there as long as no new ones push them on.)
      pruneLog: db.prepare('DELETE FROM ledger_recent WHERE accepted_at < ? AND job_id NOT IN (SELECT id FROM jobs) RETURNING dedupe_key'),
    };
  }

  /** At the start of each write transaction: the rows other connections appended since, or the whole log after a rollback. */
  sync(): void {
    this.claimed = 0;
    const version = (this.stmt.dataVersion.get() as { data_version: number }).data_version;
    if (this.stale) {
      this.logged.clear();
      this.lastSeq = 0;
      this.move = undefined;
      this.stale = false;
    } else if (version === this.version) return;
    this.version = version;
    for (const r of this.stmt.logFrom.all(this.lastSeq) as { seq: number; dedupe_key: string }[]) {
      this.logged.set(r.dedupe_key, r.seq);
      this.lastSeq = r.seq;
    }
  }

  /** Our transaction rolled back: what memory holds may not be in the table. */
  rolledBack(): void {
    this.stale = true;
  }

  /** Claims the key for the job if no one has; whether it did. In the caller's transaction, after `sync`. */
  claim(key: string, jobId: string, now: number): boolean {
    if (this.logged.has(key)) return false;
    const res = this.stmt.claim.run(key, jobId, now);
    if (res.changes !== 1) return false;
    const seq = Number(res.lastInsertRowid);
    this.logged.set(key, seq);
    this.claimed++;
    this.lastSeq = seq;
    return true;
  }

  /** The job that claimed the key. */
  jobOf(key: string): string | undefined {
    const seq = this.logged.get(key);
    const row = seq === undefined ? this.stmt.jobOfMain.get(key) : (this.stmt.jobOfLogged.get(seq) ?? this.stmt.jobOfMain.get(key));
    return (row as { job_id: string } | undefined)?.job_id;
  }

  /**
   * Once the log holds LOG_KEYS, its keys move into the index in key order, a few per group commit
   * (MOVE_AT_LEAST), in the caller's transaction, and when all have moved their rows leave the log.
   */
  moveOn(): void {
    if (!this.move) {
      if (this.logged.size < this.logKeys) return;
      const keys = [...this.logged.keys()].sort();
      this.move = { keys, at: 0, upTo: this.lastSeq };
    }
    const m = this.move;
    const end = Math.min(m.keys.length, m.at + Math.max(MOVE_AT_LEAST, 2 * this.claimed));
    const seqs: number[] = [];
    for (; m.at < end; m.at++) {
      const seq = this.logged.get(m.keys[m.at]!);
      if (seq !== undefined) seqs.push(seq);
    }
    this.stmt.moveSome.run(JSON.stringify(seqs));
    if (m.at < m.keys.length) return;
    this.stmt.dropMoved.run(m.upTo);
    for (const key of m.keys) if ((this.logged.get(key) ?? Infinity) <= m.upTo) this.logged.delete(key);
    this.move = undefined;
  }

  /**
   * Every key of the log into the index, in the caller's transaction (a graceful stop): the next
   * start reads no log, and an earlier version opening the file finds every key where it looks.
   */
  moveAll(): void {
    this.stmt.moveAll.run();
    this.stmt.dropMoved.run(Number.MAX_SAFE_INTEGER);
    this.logged.clear();
    this.move = undefined;
  }

  /** Forgets keys of finished jobs claimed before `cutoff`; how many went. */
  prune(cutoff: number): number {
    const n = Number(this.stmt.pruneMain.run(cutoff).changes);
    const logged = this.stmt.pruneLog.all(cutoff) as { dedupe_key: string }[];
    for (const r of logged) this.logged.delete(r.dedupe_key);
    return n + logged.length;
  }
}
