import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from '../e2e/harness.ts';

const BIN = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** One `switchboard start --role …` process of a multi-process deployment. */
export class RoleProcess {
  readonly role: 'ingress' | 'worker' | 'all';
  readonly name: string;
  url = '';
  output = '';
  private child: ChildProcess | undefined;
  private readonly configFile: string;
  private readonly env: Record<string, string>;

  constructor(name: string, role: 'ingress' | 'worker' | 'all', configFile: string, env: Record<string, string>) {
    this.name = name;
    this.role = role;
    this.configFile = configFile;
    this.env = env;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get alive(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    const child = spawn(process.execPath, [BIN, 'start', '--config', this.configFile, '--port', String(port), '--role', this.role], {
      cwd: REPO,
      env: { ...process.env, ...this.env, SWITCHBOARD_CONFIG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (d: Buffer) => (this.output = (this.output + d.toString()).slice(-20_000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    await waitFor(`${this.name} on ${this.url}`, async () => {
      if (child.exitCode !== null) throw new Error(`${this.name} exited with ${child.exitCode}: ${this.output.slice(-3000)}`);
      const res = await fetch(`${this.url}/healthz`).catch(() => undefined);
      return res?.ok;
    }, 30_000);
  }

  /** SIGKILL by default: no shutdown hooks, nothing flushed. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }
}
