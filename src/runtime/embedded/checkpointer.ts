import { closeSync, openSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { DatabaseSync } from 'node:sqlite';
import type { Logger } from '../../core/connector.ts';

export interface CheckpointerOptions {
  /** How often the thread copies the WAL into the database file. */
  everyMs?: number;
  /** A WAL longer than this (pages) is started over: the gateway's writes wait while the thread copies the last frames. */
  startOverAbovePages?: number;
  /** A WAL that still grows past this (pages) is checkpointed with RESTART, which holds writers back longer. */
  restartAbovePages?: number;
}

// Plain JavaScript run with eval, so the thread needs neither TypeScript stripping nor our
// modules: a second V8 isolate of a few MB. PASSIVE never blocks the gateway's writes, but under
// steady writes it never catches up either: a WAL starts over from its beginning only when a
// write begins with every frame copied, and one commits every millisecond at 1,000 acks a
// second. So once the WAL is long, the thread holds the gateway's writes back (they wait on a
// timer, see WriteGate), copies the few frames written during its last PASSIVE with one more,
// and lets them go: the gateway's next write starts the WAL over itself. That holds acks back for
// the copy of a few dozen frames; RESTART (the first version) held every writer for 15-35 ms
// while it synced the whole WAL, slept the gateway in SQLite's busy handler, and made the
// gateway's connection drop its page cache. It stays as the fallback for a WAL that would not
// start over (another process writing, or a hold the gateway stopped waiting for).
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(workerData.file);
db.exec('PRAGMA busy_timeout = 5000');
const passive = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const restart = db.prepare('PRAGMA wal_checkpoint(RESTART)');
// [0]: the thread holds writes back; [1]: the gateway is in a write (see WriteGate).
const gate = new Int32Array(workerData.gate);
const held = (checkpoint) => {
  Atomics.store(gate, 0, 1);
  try {
    // A write the gateway began before the hold commits first, or its frames would come after the copy.
    Atomics.wait(gate, 1, 1, 100);
    checkpoint.get();
  } finally {
    Atomics.store(gate, 0, 0);
  }
};
const { fdatasyncSync } = require('node:fs');
const timer = setInterval(() => {
  try {
    const r = passive.get();
    if (r.log > workerData.restartAbovePages) held(restart);
    else if (r.log > workerData.startOverAbovePages) {
      // The checkpoint that copies the last frame syncs the database file, with every page copied
      // since the last one that did (about 50 MB: 17 ms measured). Synced first, outside the hold.
      fdatasyncSync(workerData.fd);
      held(passive);
    }
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
 * How the gateway's writers and the checkpoint thread take turns. The thread asks for a moment
 * without writes (2–7 ms measured) to copy the WAL's last frames, so that the next write starts
 * it over (or, the fallback, to restart it: a write begun then would sleep on the event loop in
 * SQLite's busy handler). A writer that can wait on a timer (the group commit, the conversation
 * log) enters before its transaction and leaves after it; when the thread holds, enter() says so
 * and the writer tries again on a timer.
 */
export interface WriteGate {
  /** Begins a write unless the thread holds writes back (`force`: begin anyway). */
  enter(force?: boolean): boolean;
  /** The write has committed or rolled back. */
  leave(): void;
}

/** No checkpoint thread to take turns with. */
export const OPEN_GATE: WriteGate = { enter: () => true, leave: () => {} };

export interface Checkpointer extends WriteGate {
  /** Stops the thread. */
  close(): Promise<void>;
  /** Once the database is closed: the descriptor the thread synced the database file with. */
  closeFile(): void;
}

/**
 * Moves WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside the
 * commit that crosses 1,000 pages and stalls it for 6–50 ms (copy plus fsync), which is most
 * of the ack latency's tail; here a thread with its own connection does it instead. If the
 * thread dies, the connection goes back to automatic checkpoints.
 */
export function startCheckpointer(db: DatabaseSync, file: string, log: Logger, opts: CheckpointerOptions = {}): Checkpointer {
  const gate = new Int32Array(new SharedArrayBuffer(8));
  // Closed only after the database (closeFile): closing a descriptor drops every POSIX lock the
  // process holds on the file, SQLite's included.
  const fd = openSync(file, 'r');
  const worker = new Worker(THREAD, {
    eval: true,
    workerData: {
      file,
      fd,
      everyMs: opts.everyMs ?? 200,
      // Under journal_size_limit (64 MB, database.ts), so the WAL file is reused as it is, never truncated.
      startOverAbovePages: opts.startOverAbovePages ?? 12_000,
      restartAbovePages: opts.restartAbovePages ?? 65_536,
      gate: gate.buffer,
    },
    resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 },
  });
  worker.unref();
  db.exec('PRAGMA wal_autocheckpoint = 0');
  let closing = false;
  let exited = false;
  const fallBack = (why: string) => {
    Atomics.store(gate, 0, 0);
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
    // Announced first, then the hold read: with the thread doing the reverse, one of the two sees the other.
    enter: (force = false) => {
      Atomics.store(gate, 1, 1);
      if (force || Atomics.load(gate, 0) === 0) return true;
      Atomics.store(gate, 1, 0);
      Atomics.notify(gate, 1);
      return false;
    },
    leave: () => {
      Atomics.store(gate, 1, 0);
      Atomics.notify(gate, 1);
    },
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
    closeFile: () => closeSync(fd),
  };
}
