import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import type { NewJob } from '../src/core/jobs.ts';
import { loadAverage, REPO } from './lib.ts';

/**
 * The embedded store's enqueue alone (no HTTP, no gateway) as its queue grows: groups of 27 jobs
 * (a group commit under saturation) of the ingress benchmark's shape (1,000 conversations, about
 * 1 KB of payload), measured on an empty store and again as it is filled to each size. Prints
 * main-thread CPU per insert (user and system) and, with `--frames`, the WAL frames each commit
 * writes (the checkpoint thread off, the WAL emptied before each measurement).
 *
 *   node bench/profile-store.ts [--sizes 80000,500000] [--frames] [--repo <checkout>]
 *
 * `--repo` measures another checkout's store (a before/after pair, as in compare-accept.ts).
 */

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '80000,500000' }, frames: { type: 'boolean', default: false }, repo: { type: 'string' } } });
const repo = values.repo ?? REPO;
const { openDatabase, databaseFile } = (await import(`${repo}/src/runtime/embedded/database.ts`)) as typeof import('../src/runtime/embedded/database.ts');
const { startCheckpointer } = (await import(`${repo}/src/runtime/embedded/checkpointer.ts`)) as typeof import('../src/runtime/embedded/checkpointer.ts');
const { EmbeddedStore } = (await import(`${repo}/src/runtime/embedded/store.ts`)) as typeof import('../src/runtime/embedded/store.ts');

const dir = mkdtempSync(join(tmpdir(), 'switchboard-store-'));
const db = openDatabase(dir);
const frames = values.frames;
const checkpointer = frames ? undefined : startCheckpointer(db, databaseFile(dir), pino({ level: 'silent' }));
if (frames) db.exec('PRAGMA wal_autocheckpoint = 0');
const store = new EmbeddedStore(db, checkpointer ? { gate: checkpointer } : {});
const pageSize = (db.prepare('PRAGMA page_size').get() as { page_size: number }).page_size;
const walBytes = () => {
  try {
    return statSync(`${databaseFile(dir)}-wal`).size;
  } catch {
    return 0;
  }
};

let n = 0;
const text = `Здравствуйте, вывод не пришёл уже 3 дня, номер заявки 48213 ${'x'.repeat(600)}`;
const job = (): NewJob => {
  const i = n++;
  const chat = 5_000_000 + (i % 1000);
  return { dedupeKey: `in:telegram:${chat}:${i + 1}`, lane: `in:telegram:${chat}`, target: 'helpdesk', sender: `telegram:${chat}`, payload: { kind: 'note', ticketId: '1', text: `${text} ${i}` } };
};
const group = (size: number) => store.enqueue(Array.from({ length: size }, job));

async function measure(label: string, groups = 1000): Promise<void> {
  if (frames) db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  const w0 = walBytes();
  const t0 = performance.now();
  const cpu0 = process.threadCpuUsage();
  for (let g = 0; g < groups; g++) await group(27);
  const wall = performance.now() - t0;
  const cpu = process.threadCpuUsage(cpu0);
  const k = groups * 27;
  const perCommit = frames ? `, ${((walBytes() - w0) / (pageSize + 24) / groups).toFixed(1)} WAL frames per commit` : '';
  console.log(
    `${label.padEnd(12)} ${((wall * 1000) / k).toFixed(1)} µs wall, main thread ${((cpu.user + cpu.system) / k).toFixed(1)} µs CPU (user ${(cpu.user / k).toFixed(1)}, system ${(cpu.system / k).toFixed(1)}) per insert${perCommit}`,
  );
}

console.log(`${repo}, load average ${loadAverage()}`);
await measure('empty');
for (const size of values.sizes.split(',').map(Number)) {
  while (n < size) {
    await group(500);
    if (frames && n % 50_000 < 500) db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  }
  await measure(`at ${n}`);
}
// What a restart's first scheduling decision pays: the lane book read back from the table by a fresh store.
const t0 = performance.now();
new EmbeddedStore(db).hasDue(Date.now());
console.log(`rebuild of the lanes from ${n} queued: ${Math.round(performance.now() - t0)} ms`);
console.log(`${Math.round(statSync(databaseFile(dir)).size / n)} bytes of database file per queued job, load average ${loadAverage()}`);
await checkpointer?.close();
db.close();
checkpointer?.closeFile();
rmSync(dir, { recursive: true, force: true });
