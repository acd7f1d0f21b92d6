import { Worker } from 'node:worker_threads';
import type { DatabaseSync } from 'node:sqlite';
import type { Logger } from '../../core/connector.ts';

export interface CheckpointerOptions {
  /** How often the thread copies the WAL into the database file. */
  everyMs?: number;
  /** A WAL longer than this (pages) is checkpointed with RESTART, which briefly holds writers back. */
  restartAbovePages?: number;
}

// Plain JavaScript run with eval, so the thread needs neither TypeScript stripping nor our
// modules: a second V8 isolate of a few MB. PASSIVE never blocks the gateway's writes; a WAL
// that keeps growing under sustained load is restarted once it passes the threshold.
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(workerData.file);
db.exec('PRAGMA busy_timeout = 5000');
const passive = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const restart = db.prepare('PRAGMA wal_checkpoint(RESTART)');
const timer = setInterval(() => {
  try {
    const r = passive.get();
    if (r.log > workerData.restartAbovePages) restart.get();
  } catch (err) {
    parentPort.postMessage(String((err && err.message) || err));
  }
}, workerData.everyMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * Moves WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside the
 * commit that crosses 1,000 pages and stalls it for 6–50 ms (copy plus fsync), which is most
 * of the ack latency's tail; here a thread with its own connection does it instead. If the
 * thread dies, the connection goes back to automatic checkpoints.
 */
export function startCheckpointer(db: DatabaseSync, file: string, log: Logger, opts: CheckpointerOptions = {}): { close(): Promise<void> } {
  const worker = new Worker(THREAD, {
    eval: true,
    workerData: { file, everyMs: opts.everyMs ?? 200, restartAbovePages: opts.restartAbovePages ?? 16_384 },
    resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 },
  });
  worker.unref();
  db.exec('PRAGMA wal_autocheckpoint = 0');
  let closing = false;
  let exited = false;
  const fallBack = (why: string) => {
    if (closing) return;
    log.error({ error: why }, 'WAL checkpoint thread stopped; checkpoints run in the gateway again');
    try {
      db.exec('PRAGMA wal_autocheckpoint = 1000');
    } catch {
      // the database is closed already
    }
  };
  worker.on('message', (error: string) => log.warn({ error }, 'WAL checkpoint failed; will try again'));
  worker.on('error', (err) => fallBack(err.message));
  worker.on('exit', (code) => {
    exited = true;
    fallBack(`exit code ${code}`);
  });
  return {
    close: () => {
      closing = true;
      if (exited) return Promise.resolve();
      return new Promise<void>((resolve) => {
        worker.once('exit', () => resolve());
        // Unref'd so it never keeps a process alive, but a close must be waited for.
        worker.ref();
        worker.postMessage('close');
      });
    },
  };
}
