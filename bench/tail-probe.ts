import { appendFileSync, writeFileSync } from 'node:fs';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { DatabaseSync } from 'node:sqlite';

/**
 * Preloaded into the gateway by bench/profile-tail.ts (`node --import`): writes to $PROBE_OUT,
 * one JSON line each, the event loop's stalls over 4 ms (a 1 ms timer that came late), GC pauses
 * over 1 ms, SQLite transactions of this process that held the loop over 2 ms (BEGIN to COMMIT)
 * and single statements run with exec() over 2 ms, and Redis commands of this process whose reply
 * came over 2 ms after they were issued (with the script's name for EVALSHA). Times are wall-clock
 * ms since the epoch.
 */

const out = process.env.PROBE_OUT;
if (out) {
  writeFileSync(out, '');
  let events: Record<string, unknown>[] = [];
  const wall = (t: number) => performance.timeOrigin + t;
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    if (now - last > 4) events.push({ k: 'stall', at: wall(last), ms: now - last });
    last = now;
  }, 1).unref();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.duration > 1) events.push({ k: 'gc', at: wall(e.startTime), ms: e.duration, kind: (e as unknown as { detail?: { kind?: number } }).detail?.kind });
  }).observe({ entryTypes: ['gc'] });
  const exec = DatabaseSync.prototype.exec;
  const began = new WeakMap<DatabaseSync, number>();
  DatabaseSync.prototype.exec = function (this: DatabaseSync, sql: string) {
    const t = performance.now();
    try {
      return exec.call(this, sql);
    } finally {
      const ms = performance.now() - t;
      const head = sql.trim().slice(0, 30);
      if (head.startsWith('BEGIN')) began.set(this, t);
      const start = began.get(this);
      if (head === 'COMMIT' && start !== undefined && performance.now() - start > 2) events.push({ k: 'tx', at: wall(start), ms: performance.now() - start, commitMs: ms });
      if (ms > 2) events.push({ k: 'exec', at: wall(t), ms, sql: head });
    }
  };
  // Redis: from the command's issue to its reply (auto-pipelined commands wait for the tick's end too).
  const { Redis } = await import('ioredis');
  const send = Redis.prototype.sendCommand;
  Redis.prototype.sendCommand = function (this: InstanceType<typeof Redis>, ...args: Parameters<typeof send>) {
    const [command] = args;
    const t = performance.now();
    const settle = () => {
      const ms = performance.now() - t;
      if (ms > 2) events.push({ k: 'redis', at: wall(t), ms, cmd: command.name, n: command.args.length });
    };
    command.promise.then(settle, settle);
    return send.apply(this, args);
  };
  setInterval(() => {
    if (events.length) appendFileSync(out, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    events = [];
  }, 200).unref();
}
