import { DatabaseSync } from 'node:sqlite';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { NORMAL } from '../classes.ts';

/**
 * Opens the embedded store. WAL with synchronous=NORMAL: a commit is in the OS before
 * we answer, so a killed process (SIGKILL, OOM) loses nothing it acknowledged;
 * `sync: 'full'` also survives power loss at the cost of an fsync per commit.
 */
export function openDatabase(dir: string, opts: { sync?: 'normal' | 'full' } = {}): DatabaseSync {
  mkdirSync(dir, { recursive: true });
  const db = new DatabaseSync(databaseFile(dir));
  db.exec(`
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = ${opts.sync === 'full' ? 'FULL' : 'NORMAL'};
    PRAGMA busy_timeout = 5000;
    PRAGMA journal_size_limit = 67108864;
    -- Up to 32 MB of pages in memory (SQLite's default is 2 MB). The ledger's key index takes keys
    -- at one place per conversation (a batch at a time, see ledger.ts); with hundreds of thousands
    -- of keys its pages outgrow 2 MB, each insert read them back, and ingress slowed as the queue
    -- grew. The cache fills only as pages are used.
    PRAGMA cache_size = -32768;
    PRAGMA foreign_keys = ON;

    CREATE TABLE IF NOT EXISTS ledger (
      dedupe_key TEXT PRIMARY KEY,
      job_id TEXT NOT NULL,
      accepted_at INTEGER NOT NULL
    );
    -- Pruned in rowid order (about the order keys were claimed), so accepted_at needs no index of its own.
    DROP INDEX IF EXISTS ledger_accepted;
    -- The keys claimed last, in claim order, before they move into the ledger together (see
    -- ledger.ts). A file written before it has every key in the ledger: the log starts empty.
    -- AUTOINCREMENT: seqs never come back once the log is emptied (another connection reads on
    -- from the last seq it saw).
    CREATE TABLE IF NOT EXISTS ledger_recent (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      dedupe_key TEXT NOT NULL,
      job_id TEXT NOT NULL,
      accepted_at INTEGER NOT NULL
    );

    CREATE TABLE IF NOT EXISTS jobs (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      id TEXT NOT NULL UNIQUE,
      dedupe_key TEXT NOT NULL,
      lane TEXT NOT NULL,
      target TEXT NOT NULL,
      batch_key TEXT,
      payload TEXT NOT NULL,
      state TEXT NOT NULL DEFAULT 'queued',
      attempts INTEGER NOT NULL DEFAULT 0,
      failures INTEGER NOT NULL DEFAULT 0,
      ambiguous INTEGER NOT NULL DEFAULT 0,
      run_at INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      class INTEGER NOT NULL DEFAULT ${UNCLASSIFIED + NORMAL},
      throttled TEXT,
      error TEXT,
      detail TEXT,
      status INTEGER,
      failed_at INTEGER
    );

    CREATE TABLE IF NOT EXISTS links (
      conversation_key TEXT PRIMARY KEY,
      ticket_id TEXT NOT NULL,
      data TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS ticket_links (
      ticket_id TEXT PRIMARY KEY,
      conversation_key TEXT NOT NULL,
      latest_at INTEGER NOT NULL DEFAULT 0
    );

    CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS blobs (key TEXT PRIMARY KEY, data BLOB NOT NULL, created_at INTEGER NOT NULL);
  `);
  migrate(db);
  // The queue index is in seq order, so an accept appends to it; each lane's order is kept in
  // memory (LaneSeqs) and read back from this index, which covers lane and class, when the store
  // rebuilds. The index by lane it replaces (jobs_lane_class, created by earlier versions) took
  // every accept at its lane's place in the tree: with a large backlog, one page written into the
  // WAL per accept. Dropping it is the whole migration; an earlier version opening the file
  // creates it again.
  db.exec(`
    DROP INDEX IF EXISTS jobs_lane;
    DROP INDEX IF EXISTS jobs_run_at;
    DROP INDEX IF EXISTS jobs_lane_class;
    CREATE INDEX IF NOT EXISTS jobs_queue ON jobs (state, seq, lane, class);
  `);
  return db;
}

/**
 * Columns added since the first release; a job queued before them counts as not classified yet, a
 * ticket's latest conversation written before them as the oldest.
 */
function migrate(db: DatabaseSync): void {
  const columns = (table: string) => new Set((db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name));
  const jobs = columns('jobs');
  if (!jobs.has('class')) db.exec(`ALTER TABLE jobs ADD COLUMN class INTEGER NOT NULL DEFAULT ${UNCLASSIFIED + NORMAL}`);
  if (!jobs.has('throttled')) db.exec('ALTER TABLE jobs ADD COLUMN throttled TEXT');
  if (!columns('ticket_links').has('latest_at')) db.exec('ALTER TABLE ticket_links ADD COLUMN latest_at INTEGER NOT NULL DEFAULT 0');
}

/**
 * `class` holds the scheduling class (0 urgent … 3 throttled) once the job is classified, and
 * UNCLASSIFIED + its provisional class until then.
 */
export const UNCLASSIFIED = 10;

export const databaseFile = (dir: string): string => join(dir, 'switchboard.db');
