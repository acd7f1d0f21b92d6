import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../e2e/harness.ts';

/**
 * A real Debian `redis-server` on a free 127.0.0.1 port, in a temp dir, with AOF on (as the
 * gateway expects in production). It can be stopped, killed and started again on the same
 * port and dir: what was acknowledged comes back from the append-only file.
 */

export interface RedisServer {
  /** redis://127.0.0.1:PORT */
  url: string;
  port: number;
  dir: string;
  /** Starts it again (after stop/kill) on the same port and data dir. */
  start(): Promise<void>;
  /** SIGTERM: Redis flushes the AOF and exits. */
  stop(): Promise<void>;
  /** SIGKILL: no flush beyond what `appendfsync` already wrote. */
  kill(): Promise<void>;
  restart(opts?: { downMs?: number; signal?: 'SIGTERM' | 'SIGKILL' }): Promise<void>;
  /** Stops it and removes its dir. */
  close(): Promise<void>;
  readonly running: boolean;
  /** The server process (for CPU accounting in the benchmarks). */
  readonly pid: number | undefined;
}

const CANDIDATES = ['/usr/bin/redis-server', '/usr/local/bin/redis-server', '/usr/sbin/redis-server'];

export function redisServerPath(): string | undefined {
  const found = CANDIDATES.find((p) => existsSync(p));
  if (found) return found;
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  return which.status === 0 && which.stdout.trim() ? which.stdout.trim() : undefined;
}

/** CI sets SWITCHBOARD_REQUIRE_SERVICES=1: a missing server must fail the run there, not skip. */
export function servicesRequired(): boolean {
  return process.env['SWITCHBOARD_REQUIRE_SERVICES'] === '1';
}

/**
 * Whether Redis tests can run. Locally a missing redis-server skips them loudly; under
 * SWITCHBOARD_REQUIRE_SERVICES=1 it is an error.
 */
export function redisAvailableOrExplain(suite: string): boolean {
  if (redisServerPath()) return true;
  const msg = `redis-server is not installed: ${suite} needs it (apt-get install -y redis-server)`;
  if (servicesRequired()) throw new Error(`${msg}; SWITCHBOARD_REQUIRE_SERVICES=1 forbids skipping`);
  console.warn(`\n!!! SKIPPING ${suite}: ${msg}\n`);
  return false;
}

/** One PING over a raw socket: true once the server answers PONG (not while it loads the AOF). */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ port, host: '127.0.0.1' });
    let data = '';
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      data += d.toString();
      if (data.includes('\r\n')) done(data.startsWith('+PONG'));
    });
  });
}

export async function startRedis(opts: { appendfsync?: 'always' | 'everysec' | 'no'; maxmemory?: string } = {}): Promise<RedisServer> {
  const bin = redisServerPath();
  if (!bin) throw new Error('redis-server is not installed (apt-get install -y redis-server)');
  const dir = await mkdtemp(join(tmpdir(), 'switchboard-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let output = '';

  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--appendonly', 'yes',
    '--appendfsync', opts.appendfsync ?? 'everysec',
    '--save', '',
    '--daemonize', 'no',
    '--protected-mode', 'no',
    '--logfile', '',
    '--loglevel', 'warning',
    ...(opts.maxmemory ? ['--maxmemory', opts.maxmemory] : []),
  ];

  async function start(): Promise<void> {
    if (child && child.exitCode === null && child.signalCode === null) return;
    const proc = spawn(bin!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    proc.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}: ${output}`);
      if (await ping(port)) return;
      await new Promise((r) => setTimeout(r, 30));
    }
    throw new Error(`redis-server did not answer on port ${port}: ${output}`);
  }

  async function signal(sig: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill(sig);
    });
  }

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    start,
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
    async restart(o = {}) {
      await signal(o.signal ?? 'SIGTERM');
      if (o.downMs) await new Promise((r) => setTimeout(r, o.downMs));
      await start();
    },
    async close() {
      await signal('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
    get running() {
      return !!child && child.exitCode === null && child.signalCode === null;
    },
    get pid() {
      return child?.pid;
    },
  };
}
