import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { Logger } from '../../core/connector.ts';
import { CONVERSATION_LOG_LIMITS as LIMITS, searchTerm, type ConversationEvent, type ConversationLog } from '../../core/jobs.ts';

interface Pending {
  key: string;
  event: ConversationEvent;
  terms: string[];
}

/**
 * The conversation log in the embedded store's file. Records are buffered and written once per
 * event-loop turn in one transaction of their own, so they never slow down or fail an accept.
 */
export function createEmbeddedConversationLog(db: DatabaseSync, log: Logger): ConversationLog & { prune(): void } {
  db.exec(`
    CREATE TABLE IF NOT EXISTS conversation_events (
      conversation_key TEXT NOT NULL,
      at INTEGER NOT NULL,
      data TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS conversation_events_key ON conversation_events (conversation_key);
    CREATE INDEX IF NOT EXISTS conversation_events_at ON conversation_events (at);
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
    events: db.prepare('SELECT data FROM conversation_events WHERE conversation_key = ? ORDER BY rowid'),
    find: db.prepare('SELECT conversation_key FROM conversation_terms WHERE term = ? ORDER BY at DESC LIMIT ?'),
    exists: db.prepare('SELECT 1 FROM conversation_events WHERE conversation_key = ? LIMIT 1'),
    pruneEvents: db.prepare('DELETE FROM conversation_events WHERE at < ?'),
    pruneTerms: db.prepare('DELETE FROM conversation_terms WHERE at < ?'),
  };
  let pending: Pending[] = [];

  const flush = () => {
    const batch = pending;
    pending = [];
    try {
      db.exec('BEGIN IMMEDIATE');
      for (const p of batch) {
        stmt.insert!.run(p.key, p.event.at, JSON.stringify(p.event));
        stmt.trim!.run(p.key, p.key, LIMITS.eventsPerConversation);
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

  return {
    async record(key, event, terms = []) {
      if (pending.length === 0) setImmediate(flush);
      pending.push({ key, event, terms: [...new Set(terms.map(searchTerm).filter((t) => t.length > 0))] });
    },
    async events(key) {
      return (stmt.events!.all(key) as { data: string }[]).map((r) => JSON.parse(r.data) as ConversationEvent);
    },
    async find(raw, limit = LIMITS.conversationsPerTerm) {
      const keys = (stmt.find!.all(searchTerm(raw), limit) as { conversation_key: string }[]).map((r) => r.conversation_key);
      const asKey = raw.trim();
      if (!keys.includes(asKey) && stmt.exists!.get(asKey)) keys.unshift(asKey);
      return keys;
    },
    prune() {
      const before = Date.now() - LIMITS.retentionMs;
      stmt.pruneEvents!.run(before);
      stmt.pruneTerms!.run(before);
    },
  };
}
