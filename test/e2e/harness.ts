import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/**
 * Config the end-to-end tests share, each value from the environment the test gives the gateway
 * (`fakesEnv`): `helpdesk:` for the fake Zendesk, a `telegram` channel in webhook mode against the
 * fake Bot API, and `site`, the web form of an operator's site where players are signed in (its
 * player field is the player id). `more`: further keys of the block, one a line.
 */
export const configBlocks = {
  zendesk: (...more: string[]): string =>
    ['helpdesk:', '  kind: zendesk', '  baseUrl: ${ZENDESK_URL}', '  email: agent@example.com', '  apiToken: ${ZENDESK_API_TOKEN}', ...more.map((l) => `  ${l}`)].join('\n'),
  telegram: (...more: string[]): string =>
    ['  telegram:', '    kind: telegram', '    token: ${TELEGRAM_BOT_TOKEN}', '    mode: webhook', '    secretToken: ${TELEGRAM_WEBHOOK_SECRET}', '    apiRoot: ${TELEGRAM_API_ROOT}', ...more.map((l) => `    ${l}`)].join('\n'),
  site: (...more: string[]): string =>
    ['  site:', '    kind: webform', '    fields:', '      email: { type: email }', '      player: {}', '      message: { required: true }', '    mapping: { playerId: player }', ...more.map((l) => `    ${l}`)].join('\n'),
};

/** The environment `configBlocks` reads: the fake Zendesk's and the fake Bot API's addresses and secrets. */
export function fakesEnv(zendesk: { url: string; apiToken: string }, telegram: { apiRoot: string; token: string; secret: string }): Record<string, string> {
  return {
    ZENDESK_URL: zendesk.url,
    ZENDESK_API_TOKEN: zendesk.apiToken,
    TELEGRAM_BOT_TOKEN: telegram.token,
    TELEGRAM_WEBHOOK_SECRET: telegram.secret,
    TELEGRAM_API_ROOT: telegram.apiRoot,
  };
}

/** The real gateway, as a child process running the `switchboard` command. */
export class GatewayProcess {
  readonly url: string;
  readonly port: number;
  output = '';
  private child: ChildProcess | undefined;
  private readonly configFile: string;
  private readonly env: Record<string, string>;

  constructor(configFile: string, port: number, env: Record<string, string>) {
    this.configFile = configFile;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.env = env;
  }

  static async create(dir: string, yaml: string, env: Record<string, string> = {}): Promise<GatewayProcess> {
    const port = await freePort();
    const file = join(dir, 'switchboard.yaml');
    await writeFile(file, yaml);
    return new GatewayProcess(file, port, env);
  }

  /** Resolves once /healthz answers; `deadlineMs` for a machine under load. */
  async start(deadlineMs = 30_000): Promise<void> {
    this.child = spawn(process.execPath, [BIN, 'start', '--config', this.configFile, '--port', String(this.port)], {
      cwd: REPO,
      env: { ...process.env, ...this.env, SWITCHBOARD_CONFIG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const child = this.child;
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    await waitFor(`the gateway on ${this.url} (output so far: ${this.output.slice(-2000)})`, async () => {
      if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}: ${this.output.slice(-3000)}`);
      const res = await fetch(`${this.url}/healthz`).catch(() => undefined);
      return res?.ok;
    }, deadlineMs);
  }

  /** The process has ended (crashed, or been stopped). */
  get exited(): boolean {
    return this.child !== undefined && (this.child.exitCode !== null || this.child.signalCode !== null);
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
