import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { Logger } from '../../core/connector.ts';
import { CONVERSATION_LOG_LIMITS as LIMITS, searchTerm, type ConversationEvent, type ConversationLog } from '../../core/jobs.ts';
import { ConversationWrites } from '../conversation-writes.ts';
import { OPEN_GATE, type WriteGate } from './checkpointer.ts';

/**
 * Records wait up to this long (or until there are this many) and go in one transaction: every
 * accepted message is recorded, and a conversation's records of a quarter second then share the
 * pages they write (one index leaf per conversation) instead of each writing its own.
 */
const FLUSH_EVERY_MS = 250;
const FLUSH_AT = 5000;

interface Pending {
  key: string;
  event: ConversationEvent;
  terms: string[];
  trim: boolean;
}

/**
 * The conversation log in the embedded store's file. Records are buffered and written together,
 * in a transaction of their own, so they never slow down or fail an accept; a read writes what
 * waits first. Every accepted message is recorded, so a record writes little (see
 * ConversationWrites). Events are pruned in rowid order, the order they were written in, so their
 * time needs no index.
 */
export function createEmbeddedConversationLog(
  db: DatabaseSync,
  log: Logger,
  /** Taking turns with the checkpoint thread: the timed write waits while it holds writes back. */
  gate: WriteGate = OPEN_GATE,
): ConversationLog & { flush(): void; prune(): void } {
  db.exec(`
    CREATE TABLE IF NOT EXISTS conversation_events (
      conversation_key TEXT NOT NULL,
      at INTEGER NOT NULL,
      data TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS conversation_events_key ON conversation_events (conversation_key);
    DROP INDEX IF EXISTS conversation_events_at;
    CREATE TABLE IF NOT EXISTS conversation_terms (
      term TEXT NOT NULL,
      conversation_key TEXT NOT NULL,
      at INTEGER NOT NULL,
      PRIMARY KEY (term, conversation_key)
    );
    CREATE INDEX IF NOT EXISTS conversation_terms_at ON conversation_terms (at);
  `);
  const stmt: Record<string, StatementSync> = {
    insert: db.prepare('INSERT INTO conversation_events (conversation_key, at, data) VALUES (?, ?, ?)'),
    // Keeps the newest events of the conversation: everything at or below the (limit+1)-th newest row goes.
    trim: db.prepare(`DELETE FROM conversation_events WHERE conversation_key = ? AND rowid <= (
      SELECT rowid FROM conversation_events WHERE conversation_key = ? ORDER BY rowid DESC LIMIT 1 OFFSET ?)`),
    term: db.prepare(`INSERT INTO conversation_terms (term, conversation_key, at) VALUES (?, ?, ?)
      ON CONFLICT (term, conversation_key) DO UPDATE SET at = excluded.at`),
    events: db.prepare(`SELECT data FROM (SELECT rowid, data FROM conversation_events WHERE conversation_key = ? ORDER BY rowid DESC LIMIT ${LIMITS.eventsPerConversation}) ORDER BY rowid`),
    find: db.prepare('SELECT conversation_key FROM conversation_terms WHERE term = ? ORDER BY at DESC LIMIT ?'),
    exists: db.prepare('SELECT 1 FROM conversation_events WHERE conversation_key = ? LIMIT 1'),
    // Everything before the first event newer than the cutoff (rowids grow with time); all of it when none is.
    pruneEvents: db.prepare(`DELETE FROM conversation_events WHERE rowid < coalesce(
      (SELECT rowid FROM conversation_events WHERE at >= ? ORDER BY rowid LIMIT 1), (SELECT max(rowid) + 1 FROM conversation_events))`),
    pruneTerms: db.prepare('DELETE FROM conversation_terms WHERE at < ?'),
  };
  let pending: Pending[] = [];
  let timer: NodeJS.Timeout | undefined;
  const writes = new ConversationWrites();

  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    try {
      db.exec('BEGIN IMMEDIATE');
      for (const p of batch) {
        stmt.insert!.run(p.key, p.event.at, JSON.stringify(p.event));
        if (p.trim) stmt.trim!.run(p.key, p.key, LIMITS.eventsPerConversation);
        for (const t of p.terms) stmt.term!.run(t, p.key, p.event.at);
      }
      db.exec('COMMIT');
    } catch (err) {
      try {
        db.exec('ROLLBACK');
      } catch {
        // the failed statement may have ended the transaction already
      }
      log.warn({ err, events: batch.length }, 'could not record conversation events');
    }
  };

  // The timed write waits (on a timer, a few ms) while the checkpoint thread holds writes back; a read flushes at once.
  const flushWhenFree = () => {
    if (!gate.enter()) {
      clearTimeout(timer);
      timer = setTimeout(flushWhenFree, 2).unref();
      return;
    }
    try {
      flush();
    } finally {
      gate.leave();
    }
  };

  return {
    async record(key, event, terms = []) {
      pending.push({ key, event, ...writes.plan(key, terms, Date.now()) });
      if (pending.length === FLUSH_AT) setImmediate(flushWhenFree);
      else if (!timer) timer = setTimeout(flushWhenFree, FLUSH_EVERY_MS).unref();
    },
    async events(key) {
      flush();
      return (stmt.events!.all(key) as { data: string }[]).map((r) => JSON.parse(r.data) as ConversationEvent);
    },
    async find(raw, limit = LIMITS.conversationsPerTerm) {
      flush();
      const keys = (stmt.find!.all(searchTerm(raw), limit) as { conversation_key: string }[]).map((r) => r.conversation_key);
      const asKey = raw.trim();
      if (!keys.includes(asKey) && stmt.exists!.get(asKey)) keys.unshift(asKey);
      return keys;
    },
    flush,
    prune() {
      const before = Date.now() - LIMITS.retentionMs;
      stmt.pruneEvents!.run(before);
      stmt.pruneTerms!.run(before);
    },
  };
}
