import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';

/** Shared pieces of the benchmarks: processes, the gateway's config, memory, percentiles. */

export const REPO = fileURLToPath(new URL('../', import.meta.url));
const BIN = join(REPO, 'bin/switchboard.js');
export const TG_SECRET = 'bench-secret-token_0123456789';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface Child {
  proc: ChildProcess;
  url: string;
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

async function exitOf(proc: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill(signal);
  });
}

/** A helper server (bench/*.ts) that prints `{"url": …}` on its first line. */
export async function spawnServer(script: string, args: string[] = []): Promise<Child> {
  const proc = spawn(process.execPath, [join(REPO, 'bench', script), ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{"url"'));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    proc.once('exit', (code) => reject(new Error(`${script} exited with ${code}: ${out}`)));
  });
  return { proc, url, pid: proc.pid!, output: () => out, stop: () => exitOf(proc, 'SIGTERM') };
}

export type Store = { kind: 'embedded'; path: string } | { kind: 'redis'; url: string };

export function gatewayYaml(o: {
  store: Store;
  helpdeskUrl: string;
  concurrency: number;
  timeoutMs?: number;
  /** The helpdesk's limit (default: far above what the gateway can send). */
  requestsPerMinute?: number;
  /** With the shipped iGaming rules (config/rules/igaming.yaml). */
  rules?: boolean;
}): string {
  const store = o.store.kind === 'embedded' ? `{ kind: embedded, path: "${o.store.path}" }` : `{ kind: redis, url: "${o.store.url}", prefix: bench }`;
  return `
server: { port: 8080, host: 127.0.0.1 }
store: ${store}
log: { level: warn }
delivery: { maxAttempts: 12, baseDelayMs: 1000, maxDelayMs: 60000, concurrency: ${o.concurrency} }
helpdesk:
  kind: zendesk
  baseUrl: ${o.helpdeskUrl}
  email: bench@example.com
  apiToken: bench-token-0123456789
  webhookSecret: bench-webhook-secret-0123456789
  requestsPerMinute: ${o.requestsPerMinute ?? 1_000_000}${o.rules ? '\n  groups: { payments: 101, compliance: 102, responsible_gaming: 103, bonuses: 104, betting: 105, general: 106 }' : ''}
  timeoutMs: ${o.timeoutMs ?? 15000}
${TELEGRAM_CHANNEL}
${o.rules ? `include: [${join(REPO, 'config/rules/igaming.yaml')}]` : ''}
`;
}

/** The benchmarks' one channel: Telegram webhooks with the bench secret (replies go nowhere). */
export const TELEGRAM_CHANNEL = `channels:
  telegram:
    kind: telegram
    token: "123456:BENCH-token-abcdefghijklmnopqrstu"
    mode: webhook
    secretToken: ${TG_SECRET}
    apiRoot: http://127.0.0.1:9`;

/** What the bench helpdesk (fake-helpdesk.ts) has received. */
export interface HelpdeskStats {
  comments: number;
  requests: number;
}

export function helpdeskStats(hd: Child): Promise<HelpdeskStats> {
  return fetch(`${hd.url}/bench/stats`).then((r) => r.json() as Promise<HelpdeskStats>);
}

/**
 * The V8 flags the gateway ships with (`npm start`, the Dockerfile, docker-compose.yml): a 4 MB
 * young generation. Without it V8's default young generation makes each scavenge 10–25 ms on a
 * busy machine, the longest pause in the paced tail (docs/scaling.md, "The paced tail on Redis").
 * BENCH_SHIPPED_FLAGS=0 leaves them out, to measure what they change.
 */
export const SHIPPED_NODE_FLAGS = process.env.BENCH_SHIPPED_FLAGS === '0' ? [] : ['--max-semi-space-size=4'];

/** `switchboard start` as a user runs it (with the shipped V8 flags), with a generated config. */
export async function startGateway(o: {
  yaml: string;
  role?: 'all' | 'ingress' | 'worker';
  dir: string;
  name?: string;
  /** Node flags after the shipped ones. */
  nodeFlags?: string[];
  /** Start with SHIPPED_NODE_FLAGS (default true; the memory benchmark measures without them too). */
  shippedFlags?: boolean;
  /** Another checkout of Switchboard to run (bench/compare-accept.ts); default: this one. */
  repo?: string;
}): Promise<Child> {
  const file = join(o.dir, `${o.name ?? 'gateway'}.yaml`);
  await writeFile(file, o.yaml);
  const port = await freePort();
  const bin = o.repo ? join(o.repo, 'bin/switchboard.js') : BIN;
  const proc = spawn(process.execPath, [...(o.shippedFlags === false ? [] : SHIPPED_NODE_FLAGS), ...(o.nodeFlags ?? []), bin, 'start', '--config', file, '--port', String(port), '--role', o.role ?? 'all'], {
    cwd: o.repo ?? REPO,
    env: { ...process.env, SWITCHBOARD_CONFIG: '', NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-10_000)));
  proc.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-10_000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`gateway exited with ${proc.exitCode}: ${out}`);
    const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`gateway did not start: ${out}`);
    await sleep(100);
  }
  return { proc, url, pid: proc.pid!, output: () => out, stop: () => exitOf(proc, 'SIGTERM') };
}

export async function tempDir(): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'switchboard-bench-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A Telegram update carrying message `n` of conversation `n % chats` (or of `chat`), with `text` after its number. */
export function update(n: number, chats: number, o: { chat?: number; text?: string } = {}): string {
  const chat = o.chat ?? 5_000_000 + (n % chats);
  return JSON.stringify({
    update_id: 100_000_000 + n,
    message: {
      message_id: n + 1,
      date: Math.floor(Date.now() / 1000),
      chat: { id: chat, type: 'private', first_name: 'Player' },
      from: { id: chat, is_bot: false, first_name: 'Player', language_code: 'ru' },
      text: `bench-${n} ${o.text ?? 'Здравствуйте, вывод не пришёл уже 3 дня, номер заявки 48213'}`,
    },
  });
}

export const webhookHeaders = { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': TG_SECRET };

/** Resident set size of a process, in MB (Linux). */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round((kb / 1024) * 10) / 10;
}

/** Samples a process's RSS every 200 ms and keeps the peak. */
export function sampleRss(pid: number): { stop(): number } {
  let peak = 0;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssMb(pid));
    } catch {
      // the process ended
    }
  }, 200);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function machine(): Record<string, string> {
  const cpu = cpus();
  const redis = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout?.match(/v=(\S+)/)?.[1] ?? 'not installed';
  let os = release();
  try {
    os = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? os;
  } catch {
    // not Linux
  }
  return {
    cpu: `${cpu.length} × ${cpu[0]?.model ?? 'unknown'}`,
    memory: `${Math.round(totalmem() / 1024 ** 3)} GB`,
    os: `${os} (kernel ${release()})`,
    node: process.version,
    redis,
    // Anything else running on the machine skews the numbers; say how busy it was.
    'load average at start (1/5/15 min)': loadavg().map((l) => l.toFixed(2)).join(' / '),
  };
}

export const round = (n: number, digits = 0) => Math.round(n * 10 ** digits) / 10 ** digits;

/** The machine's load average now (1 / 5 / 15 min), stated next to every figure measured. */
export function loadAverage(): string {
  return loadavg().map((l) => l.toFixed(2)).join(' / ');
}

/** CPU time a process has used so far (user + system), in ms (Linux). */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // After the command name: state is field 3, utime 14 and stime 15 (clock ticks, 100 a second).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** CPU used by a set of processes between start() and the returned stop(), in ms. */
export function cpuMeter(pids: number[]): () => number {
  const at = pids.map(cpuMs);
  return () => pids.reduce((sum, pid, i) => sum + cpuMs(pid) - at[i]!, 0);
}

export interface PacedResult {
  /** Latency of each request from its scheduled start, ms, sorted. */
  latencies: number[];
  /** Each request in the order sent: when it was due (wall clock, ms since the epoch) and its latency, ms. */
  timeline: { at: number; ms: number }[];
  non2xx: number;
  errors: number;
}

/**
 * An open-loop load: request i is due at start + i / rate whether or not earlier ones have
 * been answered, and its latency is counted from when it was due, not from when a connection
 * was free to send it. A stall of the server (or of this process) shows in full, instead of
 * slowing the sender down and hiding itself (coordinated omission).
 */
export async function paced(url: string, o: { rate: number; seconds: number; body(i: number): string; headers: Record<string, string> }): Promise<PacedResult> {
  const target = new URL('/webhooks/telegram', url);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const total = Math.round(o.rate * o.seconds);
  const latencies: number[] = [];
  const timeline: { at: number; ms: number }[] = [];
  let non2xx = 0;
  let errors = 0;
  const inflight: Promise<void>[] = [];
  const send = (i: number, due: number) =>
    new Promise<void>((resolve) => {
      // From when it was due, or from when it went if that was earlier (a timer may wake a little early).
      const from = Math.min(due, performance.now());
      const entry = { at: performance.timeOrigin + from, ms: NaN };
      timeline.push(entry);
      const body = o.body(i);
      const req = request(target, { method: 'POST', agent, headers: { ...o.headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', () => {
          entry.ms = performance.now() - from;
          latencies.push(entry.ms);
          if (res.statusCode === undefined || res.statusCode < 200 || res.statusCode >= 300) non2xx++;
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
  const start = performance.now() + 20;
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / o.rate;
    const ahead = due - performance.now();
    if (ahead >= 1) await sleep(ahead);
    inflight.push(send(i, due));
  }
  await Promise.all(inflight);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { latencies, timeline, non2xx, errors };
}

/** Median and range of repeated measurements. */
export function spread(values: number[]): { median: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}
