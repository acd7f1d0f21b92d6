import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../fixtures/wait.ts';

export { waitFor };

const BIN = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));
export const REPO = fileURLToPath(new URL('../../', import.meta.url));

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

export async function tempDir(prefix = 'switchboard-e2e-'): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** The real gateway, as a child process running the `switchboard` command (`--role` for one part of a Redis deployment). */
export class GatewayProcess {
  readonly url: string;
  readonly port: number;
  readonly role: 'all' | 'ingress' | 'worker';
  output = '';
  private child: ChildProcess | undefined;
  private readonly configFile: string;
  private readonly env: Record<string, string>;

  constructor(configFile: string, port: number, env: Record<string, string>, role: 'all' | 'ingress' | 'worker' = 'all') {
    this.configFile = configFile;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.env = env;
    this.role = role;
  }

  static async create(dir: string, yaml: string, env: Record<string, string> = {}): Promise<GatewayProcess> {
    const port = await freePort();
    const file = join(dir, 'switchboard.yaml');
    await writeFile(file, yaml);
    return new GatewayProcess(file, port, env);
  }

  /** Another process on the same config file (a second gateway on one Redis, a role). */
  static async sibling(configFile: string, env: Record<string, string>, role: 'all' | 'ingress' | 'worker' = 'all'): Promise<GatewayProcess> {
    return new GatewayProcess(configFile, await freePort(), env, role);
  }

  /** The process id once started. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Started and not ended. */
  get alive(): boolean {
    return this.child !== undefined && !this.exited;
  }

  /** The process has ended (crashed, or been stopped). */
  get exited(): boolean {
    return this.child !== undefined && (this.child.exitCode !== null || this.child.signalCode !== null);
  }

  /** Resolves once /healthz answers (within the tests' one wait deadline unless `deadlineMs` says otherwise). */
  async start(deadlineMs?: number): Promise<void> {
    this.child = spawn(process.execPath, [BIN, 'start', '--config', this.configFile, '--port', String(this.port), ...(this.role === 'all' ? [] : ['--role', this.role])], {
      cwd: REPO,
      env: { ...process.env, ...this.env, SWITCHBOARD_CONFIG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const child = this.child;
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    // A gateway that exits (a bad config) fails the start at once rather than at the deadline.
    const exited = await waitFor(`the gateway on ${this.url} (output so far: ${this.output.slice(-2000)})`, async () => {
      if (child.exitCode !== null) return 'exited';
      const res = await fetch(`${this.url}/healthz`).catch(() => undefined);
      return res?.ok && 'up';
    }, deadlineMs);
    if (exited === 'exited') throw new Error(`gateway exited with ${child.exitCode}: ${this.output.slice(-3000)}`);
  }

  /** SIGKILL: no shutdown hooks, no flush; what was acknowledged must survive. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }

  async stop(): Promise<void> {
    await this.kill('SIGTERM');
  }

  async post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
    const raw = typeof body === 'string' ? body : JSON.stringify(body);
    const res = await fetch(`${this.url}${path}`, { method: 'POST', body: raw, headers: { 'content-type': 'application/json', ...headers } });
    return { status: res.status, body: await res.text() };
  }
}

/** Runs a `switchboard` CLI command to completion. */
export async function runCli(args: string[], env: Record<string, string> = {}, opts: { cwd?: string; nodeArgs?: string[] } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), BIN, ...args], { cwd: opts.cwd ?? REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Keys that appear twice in one JSON object of the line (JSON.parse would silently keep the last). */
export function duplicateKeys(json: string): string[] {
  const dupes: string[] = [];
  // One frame per open object or array: the keys seen so far (arrays have none).
  const frames: { keys?: Set<string> }[] = [];
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!;
    if (c === '{' || c === '[') {
      frames.push(c === '{' ? { keys: new Set() } : {});
      expectKey = c === '{';
    } else if (c === '}' || c === ']') frames.pop();
    else if (c === ',') expectKey = frames.at(-1)?.keys !== undefined;
    else if (c === '"') {
      let s = '';
      for (i++; json[i] !== '"'; i++) s += json[i] === '\\' ? json[i] + json[++i]! : json[i];
      const keys = frames.at(-1)?.keys;
      if (expectKey && keys) {
        if (keys.has(s)) dupes.push(s);
        keys.add(s);
        expectKey = false;
      }
    }
  }
  return dupes;
}

/** The gateway has nothing queued and nothing in flight, seen on its /metrics twice in a row. */
export async function settled(gw: { url: string }): Promise<void> {
  let quiet = 0;
  await waitFor(`${gw.url} to have nothing left to deliver`, async () => {
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    quiet = value('switchboard_queue_depth') === 0 && value('switchboard_in_flight') === 0 ? quiet + 1 : 0;
    return quiet >= 2;
  });
}
