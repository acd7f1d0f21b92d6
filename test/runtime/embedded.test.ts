import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryError } from '../../src/core/errors.ts';
import type { Runtime } from '../../src/runtime/runtime.ts';
import { DEFAULT_RETENTION } from '../../src/core/retention.ts';
import { createEmbeddedRuntime, type EmbeddedOptions } from '../../src/runtime/embedded/index.ts';
import { openDatabase } from '../../src/runtime/embedded/database.ts';
import { EmbeddedStore } from '../../src/runtime/embedded/store.ts';
import { HIGH, provisionalClass } from '../../src/runtime/classes.ts';
import { waitFor } from '../fixtures/wait.ts';
import { note, runtimeConformance } from './conformance.ts';

const root = mkdtempSync(join(tmpdir(), 'switchboard-rt-'));

runtimeConformance('embedded (node:sqlite)', {
  async open(name, opts) {
    return createEmbeddedRuntime({
      path: join(root, name),
      concurrency: opts?.concurrency ?? 4,
      retry: { maxAttempts: opts?.maxAttempts ?? 10, baseDelayMs: 40, maxDelayMs: 2000 },
      batchSettleMs: 150,
      floodLimit: opts?.floodLimit,
      retention: opts?.retention,
      log: pino({ level: 'silent' }),
    });
  },
  async cleanup() {
    rmSync(root, { recursive: true, force: true });
  },
});

describe('embedded store, one file', () => {
  const dirs: string[] = [];
  const runtimes: Runtime[] = [];
  const open = (path: string, o: Partial<EmbeddedOptions> = {}) => {
    const rt = createEmbeddedRuntime({ path, concurrency: 4, retry: { maxAttempts: 5, baseDelayMs: 40, maxDelayMs: 500 }, log: pino({ level: 'silent' }), ...o });
    runtimes.push(rt);
    return rt;
  };
  const fresh = () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-file-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(async () => {
    for (const rt of runtimes.splice(0)) await rt.close(1000);
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('runs a dead letter replayed from another process (the CLI) while the gateway is running', async () => {
    const dir = fresh();
    const gateway = open(dir);
    let refuse = true;
    const delivered: string[] = [];
    gateway.startWorker({
      async run(jobs) {
        const text = jobs[0]!.payload.kind === 'note' ? jobs[0]!.payload.text : '';
        if (refuse) throw new DeliveryError('Zendesk refused the ticket', { kind: 'permanent', status: 422 });
        delivered.push(text);
      },
      onGiveUp: () => [],
    });
    await gateway.enqueue([note('a', 'refused once')]);
    const [dead] = await waitFor('the dead letter', async () => (await gateway.dlq.list()).length === 1 && gateway.dlq.list());
    refuse = false;

    const cli = open(dir);
    expect(await cli.dlq.replay(dead!.id)).toBe(1);
    await cli.enqueue([note('b', 'queued by the other process')]);
    await waitFor('both deliveries', () => delivered.length === 2);
    expect(delivered.sort()).toEqual(['queued by the other process', 'refused once']);
  });

  // logKeys 1: every key moves from the ledger's log into its key index in the commit that claims it.
  it.each([['in the log', undefined], ['moved into the index', 1]])('forgets the dedupe keys of finished work older than the retention, and keeps the rest (keys %s)', async (_, logKeys) => {
    const db = openDatabase(fresh());
    const store = new EmbeddedStore(db, { logKeys });
    try {
      const finish = (key: string) => db.prepare('DELETE FROM jobs WHERE dedupe_key = ?').run(key);
      await store.enqueue([note('a', 'old, done', 'old-done'), note('a', 'old, queued', 'old-queued')]);
      finish('old-done');
      const between = Date.now();
      while (Date.now() === between) await new Promise((r) => setTimeout(r, 1));
      await store.enqueue([note('a', 'new, done', 'new-done')]);
      finish('new-done');
      // The cutoff falls between the old keys and the new one (one clock reading: no tick in between).
      const now = Date.now();
      expect(store.pruneLedger(now - between - 1, now)).toBe(1);
      const again = await store.enqueue(['old-done', 'old-queued', 'new-done'].map((k) => note('a', 'again', k)));
      expect(again.map((o) => [o.dedupeKey, o.duplicate])).toEqual([['old-done', false], ['old-queued', true], ['new-done', true]]);
      // A cutoff after every key: everything whose job is gone goes.
      finish('old-done');
      expect(store.pruneLedger(-1000)).toBe(2);
    } finally {
      db.close();
    }
  });

  it('refuses every key claimed before a crash as a duplicate of its job, whether it was still in the log or had moved into the index', async () => {
    const dir = fresh();
    const db = openDatabase(dir);
    // A log of 5 keys: the keys move on into the index while more are claimed.
    const store = new EmbeddedStore(db, { logKeys: 5 });
    const first: { key: string; id: string }[] = [];
    for (let g = 0; g < 8; g++) {
      const out = await store.enqueue(Array.from({ length: 7 }, (_, i) => note(`lane-${i}`, `m${g}-${i}`)));
      for (const o of out) first.push({ key: o.dedupeKey, id: o.id });
    }
    const count = (table: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    // Fewer keys than the log collects before a move: these are still in the log at the crash.
    for (const o of await store.enqueue(Array.from({ length: 3 }, (_, i) => note(`lane-${i}`, `last-${i}`)))) first.push({ key: o.dedupeKey, id: o.id });
    expect(count('ledger') + count('ledger_recent')).toBe(59);
    expect(count('ledger')).toBeGreaterThan(40);
    expect(count('ledger_recent')).toBeGreaterThan(0);
    // The gateway is gone without closing anything; a new process opens the file.
    const again = new EmbeddedStore(openDatabase(dir), { logKeys: 5 });
    const resent = await again.enqueue(first.map((f) => note('lane-0', 'resent', f.key)));
    expect(resent.map((o) => [o.dedupeKey, o.duplicate, o.id])).toEqual(first.map((f) => [f.key, true, f.id]));
    expect((await again.enqueue([note('lane-0', 'new')]))[0]!.duplicate).toBe(false);
    db.close();
    again.db.close();
  });

  it('moves every recent key into the ledger index on a graceful stop, where an earlier version looks for them', async () => {
    const dir = fresh();
    const rt = open(dir);
    const out = await rt.enqueue([note('a', 'one'), note('b', 'two')]);
    runtimes.splice(runtimes.indexOf(rt), 1);
    await rt.close(1000);
    const check = new DatabaseSync(join(dir, 'switchboard.db'), { readOnly: true });
    try {
      expect(check.prepare('SELECT COUNT(*) AS n FROM ledger_recent').get()).toEqual({ n: 0 });
      expect(check.prepare('SELECT dedupe_key, job_id FROM ledger ORDER BY dedupe_key').all()).toEqual(out.map((o) => ({ dedupe_key: o.dedupeKey, job_id: o.id })));
    } finally {
      check.close();
    }
    expect((await open(dir).enqueue([note('a', 'one')]))[0]).toEqual({ ...out[0], duplicate: true });
  });

  it('sees the keys another process claimed (the CLI and the gateway on one file)', async () => {
    const dir = fresh();
    const gateway = new EmbeddedStore(openDatabase(dir));
    const cli = new EmbeddedStore(openDatabase(dir));
    try {
      await gateway.enqueue([note('a', 'from the gateway', 'g-1')]);
      const [fromCli] = await cli.enqueue([note('a', 'from the CLI', 'c-1')]);
      expect((await cli.enqueue([note('a', 'again', 'g-1')]))[0]!.duplicate).toBe(true);
      expect(await gateway.enqueue([note('a', 'again', 'c-1'), note('a', 'new', 'g-2')])).toEqual([
        { id: fromCli!.id, dedupeKey: 'c-1', duplicate: true },
        expect.objectContaining({ dedupeKey: 'g-2', duplicate: false }),
      ]);
      expect((await cli.enqueue([note('a', 'again', 'g-2')]))[0]!.duplicate).toBe(true);
    } finally {
      gateway.db.close();
      cli.db.close();
    }
  });

  it('opens a store written before the ledger had its log: every key it holds is still a duplicate, and pruning still forgets them', async () => {
    const dir = fresh();
    // The ledger as earlier versions wrote it: one table, every key in its key index.
    const old = new DatabaseSync(join(dir, 'switchboard.db'));
    old.exec('CREATE TABLE ledger (dedupe_key TEXT PRIMARY KEY, job_id TEXT NOT NULL, accepted_at INTEGER NOT NULL)');
    const put = old.prepare('INSERT INTO ledger VALUES (?, ?, ?)');
    for (let i = 0; i < 30; i++) put.run(`in:telegram:7:${i}`, `job-${i}`, 1000 + i);
    old.close();
    const db = openDatabase(dir);
    const store = new EmbeddedStore(db, { logKeys: 3 });
    try {
      const out = await store.enqueue([note('a', 'resent', 'in:telegram:7:4'), note('a', 'new', 'in:telegram:7:30'), note('a', 'resent', 'in:telegram:7:29')]);
      expect(out.map((o) => [o.dedupeKey, o.duplicate, o.duplicate ? o.id : ''])).toEqual([
        ['in:telegram:7:4', true, 'job-4'],
        ['in:telegram:7:30', false, ''],
        ['in:telegram:7:29', true, 'job-29'],
      ]);
      // The old keys were claimed at 1000–1029: a cutoff at 1010 forgets the first ten.
      const now = Date.now();
      expect(store.pruneLedger(now - 1010, now)).toBe(10);
      const again = await store.enqueue([note('a', 'resent', 'in:telegram:7:9'), note('a', 'resent', 'in:telegram:7:10')]);
      expect(again.map((o) => o.duplicate)).toEqual([false, true]);
    } finally {
      db.close();
    }
  });

  it('classifies every queued job when more wait than it keeps in memory: the rest are read back from the table', async () => {
    const db = openDatabase(fresh());
    const store = new EmbeddedStore(db, { keepUnclassified: 3 });
    try {
      const first = Array.from({ length: 8 }, (_, i) => `message ${i}`);
      await store.enqueue(first.map((text, i) => note(`lane-${i % 3}`, text)));
      const seen: string[] = [];
      // As the worker does: take a batch, classify it, book the classes.
      const take = () => {
        const batch = store.takeUnclassified(2);
        for (const u of batch) seen.push(u.job.payload.kind === 'note' ? u.job.payload.text : u.job.payload.kind);
        store.setClasses(batch.map((u) => ({ seq: u.seq, lane: u.lane, from: provisionalClass(false), cls: HIGH })));
      };
      take();
      // More arrive while the table is being read back, in a lane the read has passed.
      const later = Array.from({ length: 4 }, (_, i) => `later ${i}`);
      take();
      await store.enqueue(later.map((text) => note('lane-0', text)));
      for (let i = 0; i < 20; i++) take();
      expect(seen.sort()).toEqual([...first, ...later].sort());
    } finally {
      db.close();
    }
  });

  it('deletes expired records in the background, a batch at a time, so the table shrinks back', async () => {
    const dir = fresh();
    const rt = open(dir, { retention: { ...DEFAULT_RETENTION, sent: 5000 }, kvSweepEveryMs: 100 });
    await Promise.all(Array.from({ length: 2500 }, (_, i) => rt.kv.set(`sent:r-${i}`, '[1,2]', { keep: 'sent' })));
    await rt.kv.set('cursor', '42');
    const rows = () => {
      const db = new DatabaseSync(join(dir, 'switchboard.db'), { readOnly: true });
      try {
        return (db.prepare('SELECT COUNT(*) AS n FROM kv').get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    expect(rows()).toBe(2501);
    await waitFor('the sweep to delete every expired record', () => rows() === 1);
    expect(await rt.kv.get('cursor')).toBe('42');
  });

  it('opens a store written before records could expire, and reads its records', async () => {
    const dir = fresh();
    const old = new DatabaseSync(join(dir, 'switchboard.db'));
    old.exec("CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO kv VALUES ('email:cursor', '{\"lastUid\":9}')");
    old.close();
    const rt = open(dir);
    expect(await rt.kv.get('email:cursor')).toBe('{"lastUid":9}');
    await rt.kv.set('sent:r-1', '[1]', { keep: 'sent' });
    expect(await rt.kv.get('sent:r-1')).toBe('[1]');
  });

  it('opens a store an earlier version left with jobs queued (its index by lane), delivers each lane once and in order, and still knows the keys', async () => {
    const dir = fresh();
    // The file as the previous version left it: the same tables, its index by lane instead of the queue index.
    const old = openDatabase(dir);
    const before = new EmbeddedStore(old);
    await before.enqueue(['a', 'b', 'c'].flatMap((lane) => [1, 2, 3].map((i) => note(lane, `${lane}${i}`))));
    await before.enqueue([note('d', 'd1', undefined, 'helpdesk', 'album'), note('d', 'd2', undefined, 'helpdesk', 'album'), note('d', 'd3')]);
    old.exec('DROP INDEX jobs_queue; CREATE INDEX jobs_lane_class ON jobs (state, lane, seq, class)');
    old.close();

    const rt = open(dir);
    const runs: string[][] = [];
    rt.startWorker({
      async run(jobs) {
        runs.push(jobs.map((j) => (j.payload.kind === 'note' ? j.payload.text : j.payload.kind)));
      },
      onGiveUp: () => [],
    });
    await waitFor('every queued job delivered', () => runs.flat().length === 12);
    for (const lane of ['a', 'b', 'c']) expect(runs.flat().filter((t) => t.startsWith(lane))).toEqual([1, 2, 3].map((i) => `${lane}${i}`));
    // The album goes as one delivery, then the lane's next job.
    expect(runs.filter((r) => r[0]!.startsWith('d'))).toEqual([['d1', 'd2'], ['d3']]);
    expect((await rt.enqueue([note('a', 'a1')]))[0]!.duplicate).toBe(true);
    const check = new DatabaseSync(join(dir, 'switchboard.db'), { readOnly: true });
    try {
      const indexes = (check.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs'").all() as { name: string }[]).map((r) => r.name);
      expect(indexes).toContain('jobs_queue');
      expect(indexes).not.toContain('jobs_lane_class');
    } finally {
      check.close();
    }
  });

  it("opens a store written before tickets kept their latest conversation's time: the next message moves it", async () => {
    const dir = fresh();
    const old = new DatabaseSync(join(dir, 'switchboard.db'));
    const link = { conversationKey: 'telegram:1', channelId: 'telegram', ticketId: '7', requesterId: '5', conversation: { channelId: 'telegram', externalId: '1', sender: { externalId: '1' } }, createdAt: 1, firedRules: [] };
    old.exec('CREATE TABLE links (conversation_key TEXT PRIMARY KEY, ticket_id TEXT NOT NULL, data TEXT NOT NULL); CREATE TABLE ticket_links (ticket_id TEXT PRIMARY KEY, conversation_key TEXT NOT NULL)');
    old.prepare('INSERT INTO links VALUES (?, ?, ?)').run('telegram:1', '7', JSON.stringify(link));
    old.exec("INSERT INTO ticket_links VALUES ('7', 'telegram:1')");
    old.close();
    const rt = open(dir);
    expect((await rt.links.byTicket('7'))?.conversationKey).toBe('telegram:1');
    await rt.links.put({ ...link, conversationKey: 'whatsapp:1', channelId: 'whatsapp', latestAt: Date.now() });
    expect((await rt.links.byTicket('7'))?.conversationKey).toBe('whatsapp:1');
  });

  it('copies the write-ahead log into the database file without the gateway stopping to do it', async () => {
    const dir = fresh();
    const rt = open(dir);
    const before = statSync(join(dir, 'switchboard.db')).size;
    const text = 'x'.repeat(2000);
    for (let i = 0; i < 20; i++) await rt.enqueue(Array.from({ length: 200 }, (_, j) => note(`lane${j}`, `${text}${i}`)));
    // 4,000 jobs of ~2 KB: about 8 MB went to the WAL; the checkpoint thread moves them into the file.
    await waitFor('the checkpoint to grow the file', () => statSync(join(dir, 'switchboard.db')).size > before + 4_000_000);
  });

  // The checkpoint thread asks for a moment without writes to start the WAL over (checkpointer.ts).
  it('holds a group commit while the checkpoint thread asks, and commits it after', async () => {
    const db = openDatabase(fresh());
    let hold = true;
    let asked = 0;
    // The thread never lets go here (a forced entry after MAX_HOLD_MS is refused too), so nothing depends on timing.
    const store = new EmbeddedStore(db, { gate: { enter: () => (asked++, !hold), leave: () => {} } });
    let done = false;
    const accepted = store.enqueue([note('lane', 'held')]).then((r) => ((done = true), r));
    await waitFor('the group commit to ask again', () => asked >= 3);
    expect(done).toBe(false);
    hold = false;
    expect((await accepted)[0]!.duplicate).toBe(false);
    expect(store.stats(0).queued).toBe(1);
    db.close();
  });
});
