import { DatabaseSync } from 'node:sqlite';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

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
    PRAGMA foreign_keys = ON;

    CREATE TABLE IF NOT EXISTS ledger (
      dedupe_key TEXT PRIMARY KEY,
      job_id TEXT NOT NULL,
      accepted_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS ledger_accepted ON ledger (accepted_at);

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
      error TEXT,
      detail TEXT,
      status INTEGER,
      failed_at INTEGER
    );
    CREATE INDEX IF NOT EXISTS jobs_lane ON jobs (state, lane, seq);
    CREATE INDEX IF NOT EXISTS jobs_run_at ON jobs (state, run_at);

    CREATE TABLE IF NOT EXISTS links (
      conversation_key TEXT PRIMARY KEY,
      ticket_id TEXT NOT NULL,
      data TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS ticket_links (
      ticket_id TEXT PRIMARY KEY,
      conversation_key TEXT NOT NULL
    );

    CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS blobs (key TEXT PRIMARY KEY, data BLOB NOT NULL, created_at INTEGER NOT NULL);
  `);
  return db;
}

export const databaseFile = (dir: string): string => join(dir, 'switchboard.db');
