import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { TimingRecord, type TimingStore, type Versioned } from '../../core/kpi/record.ts';

/**
 * Conversation timings in the embedded store's file: one row per ticket with a version for
 * compare-and-set, indexed by when it opened (reports) and by when its wait began (the SLA watch).
 * Each write is its own small transaction; the group commit of the queue is never open while
 * JavaScript runs, so these never land inside one of its transactions.
 */
export function createEmbeddedTimingStore(db: DatabaseSync): TimingStore {
  db.exec(`
    CREATE TABLE IF NOT EXISTS timings (
      ticket_id TEXT PRIMARY KEY,
      version INTEGER NOT NULL,
      opened_at INTEGER NOT NULL,
      watch_from INTEGER,
      data TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS timings_opened ON timings (opened_at);
    CREATE INDEX IF NOT EXISTS timings_watch ON timings (watch_from) WHERE watch_from IS NOT NULL;
  `);
  const stmt: Record<'get' | 'insert' | 'update' | 'opened' | 'watched' | 'prune', StatementSync> = {
    get: db.prepare('SELECT version, data FROM timings WHERE ticket_id = ?'),
    insert: db.prepare('INSERT INTO timings (ticket_id, version, opened_at, watch_from, data) VALUES (?, 1, ?, ?, ?) ON CONFLICT (ticket_id) DO NOTHING'),
    update: db.prepare('UPDATE timings SET version = version + 1, opened_at = ?, watch_from = ?, data = ? WHERE ticket_id = ? AND version = ?'),
    opened: db.prepare('SELECT data FROM timings WHERE opened_at >= ? AND opened_at < ? ORDER BY opened_at'),
    watched: db.prepare('SELECT version, data FROM timings WHERE watch_from IS NOT NULL ORDER BY watch_from LIMIT ?'),
    prune: db.prepare('DELETE FROM timings WHERE opened_at < ? AND watch_from IS NULL'),
  };
  const parse = (data: string): TimingRecord | undefined => TimingRecord.safeParse(JSON.parse(data)).data;
  const versioned = (row: unknown): Versioned | undefined => {
    const r = row as { version: number; data: string } | undefined;
    const record = r ? parse(r.data) : undefined;
    return record && { record, version: r!.version };
  };

  return {
    get: async (ticketId) => versioned(stmt.get.get(ticketId)),
    put: async (record, version) => {
      const data = JSON.stringify(record);
      const watch = record.watchFrom ?? null;
      const res = version === 0
        ? stmt.insert.run(record.ticketId, record.openedAt, watch, data)
        : stmt.update.run(record.openedAt, watch, data, record.ticketId, version);
      return res.changes === 1;
    },
    openedBetween: async (from, to) =>
      (stmt.opened.all(from, to) as { data: string }[]).flatMap((r) => parse(r.data) ?? []),
    watched: async (limit) => stmt.watched.all(limit).flatMap((row) => versioned(row) ?? []),
    // A conversation still waiting is kept: the watch has not finished with it.
    prune: async (before) => Number(stmt.prune.run(before).changes),
  };
}
