import { DatabaseSync } from 'node:sqlite';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';

/**
 * The anchors the gateway's ingress is measured against, each a bare Fastify route that parses
 * the same webhook JSON and answers 200:
 *   bare          stores nothing (the ceiling of Node and Fastify on this machine);
 *   sqlite        inserts the update into SQLite (WAL, synchronous=NORMAL) before answering,
 *                 one transaction per request;
 *   sqlite-group  the same, with the inserts of one event-loop turn committed together
 *                 (group commit), each answer sent after its transaction committed.
 * Runs as its own process: `node bench/anchor-server.ts <mode>` prints its URL.
 */

const mode = process.argv[2] ?? 'bare';
const app = Fastify({ logger: false });
let close = () => {};

if (mode === 'bare') {
  app.post('/webhooks/telegram', async (req) => {
    const update = req.body as { update_id?: number };
    return { ok: typeof update?.update_id === 'number' };
  });
} else {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-anchor-'));
  const db = new DatabaseSync(join(dir, 'anchor.db'));
  db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
    CREATE TABLE updates (update_id INTEGER PRIMARY KEY, body TEXT NOT NULL, received_at INTEGER NOT NULL)`);
  const insert = db.prepare('INSERT OR IGNORE INTO updates (update_id, body, received_at) VALUES (?, ?, ?)');
  close = () => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  };
  if (mode === 'sqlite') {
    app.post('/webhooks/telegram', async (req) => {
      const update = req.body as { update_id?: number };
      if (typeof update?.update_id !== 'number') return { ok: false };
      insert.run(update.update_id, JSON.stringify(update), Date.now());
      return { ok: true };
    });
  } else if (mode === 'sqlite-group') {
    let pending: { id: number; body: string; done(): void }[] = [];
    const flush = () => {
      const batch = pending;
      pending = [];
      db.exec('BEGIN');
      for (const p of batch) insert.run(p.id, p.body, Date.now());
      db.exec('COMMIT');
      for (const p of batch) p.done();
    };
    app.post('/webhooks/telegram', async (req) => {
      const update = req.body as { update_id?: number };
      if (typeof update?.update_id !== 'number') return { ok: false };
      await new Promise<void>((done) => {
        if (pending.push({ id: update.update_id!, body: JSON.stringify(update), done }) === 1) setImmediate(flush);
      });
      return { ok: true };
    });
  } else {
    throw new Error(`unknown anchor mode ${mode} (bare | sqlite | sqlite-group)`);
  }
}

const address = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(JSON.stringify({ url: address }));
process.on('SIGTERM', () => void app.close().then(() => {
  close();
  process.exit(0);
}));
