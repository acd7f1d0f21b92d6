import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, REPO, runCli, tempDir, waitFor } from './harness.ts';

/**
 * A newcomer's first hour, as the README tells it: the Node check, the documented commands, the
 * demo's happy path. Each test runs the real `bin/switchboard.js`.
 */

const BIN = join(REPO, 'bin/switchboard.js');
const lines = (text: string) => text.split('\n').filter((l) => l.trim().length > 0);

describe('an old Node', () => {
  const expectOneClearLine = (r: { code: number; stdout: string; stderr: string }, found: string) => {
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain('needs Node.js 22.13 or newer');
    expect(r.stderr).toContain(`this is Node ${found}`);
    expect(r.stderr).toMatch(/nvm install.*\.nvmrc/);
    expect(r.stderr).toContain('npx -y node@24 bin/switchboard.js');
  };

  it('gets one line saying which Node is needed, which was found and how to get it, and nothing else', async () => {
    // Node 20 as Node 24 sees it: process.versions says 20 before the entry point runs.
    const pretend = 'data:text/javascript,Object.defineProperty(process,"versions",{value:{...process.versions,node:"20.11.1"}})';
    expectOneClearLine(await runCli(['start', '--config', 'config/demo.yaml'], {}, { nodeArgs: ['--import', pretend] }), '20.11.1');
  });

  it("the machine's own old Node, where there is one, says the same", async (ctx) => {
    const system = '/usr/bin/node';
    const version = existsSync(system) ? spawnSync(system, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim() : '';
    const [major = 0, minor = 0] = version.split('.').map(Number);
    if (!version || major > 22 || (major === 22 && minor >= 13)) return ctx.skip();
    const r = spawnSync(system, [BIN, 'start'], { cwd: REPO, encoding: 'utf8' });
    expectOneClearLine({ code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }, version);
  });

  it('.nvmrc names a Node that is new enough, and npm refuses an older one in one error', async () => {
    expect(Number((await readFile(join(REPO, '.nvmrc'), 'utf8')).trim())).toBeGreaterThanOrEqual(24);
    expect(await readFile(join(REPO, '.npmrc'), 'utf8')).toMatch(/^engine-strict=true$/m);
    const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { engines: { node: string } };
    expect(pkg.engines.node).toBe('>=22.13');
  });
});

describe('the commands as the README writes them', () => {
  it('`npx switchboard --version` works in the project after npm ci', () => {
    // npx runs the package's own `bin` with the Node that runs this test.
    const PATH = [dirname(process.execPath), process.env['PATH'] ?? ''].join(delimiter);
    const r = spawnSync('npx', ['--no-install', 'switchboard', '--version'], { cwd: REPO, encoding: 'utf8', env: { ...process.env, PATH } });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('`switchboard schema` through a pipe is the whole schema, however slowly the pipe is read', async () => {
    const child = spawn(process.execPath, [BIN, 'schema'], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    // A slow reader: the writer must wait for it instead of exiting with the rest unwritten.
    for await (const chunk of child.stdout) {
      chunks.push(chunk as Buffer);
      await new Promise((r) => setImmediate(r));
    }
    const text = Buffer.concat(chunks).toString('utf8');
    expect(text.length).toBeGreaterThan(128 * 1024);
    expect(() => JSON.parse(text)).not.toThrow();
  });

  it('`check` without a config says how to name one', async () => {
    const dir = await tempDir();
    try {
      const r = await runCli(['check'], { SWITCHBOARD_CONFIG: '' }, { cwd: dir.path });
      expect(r.code).toBe(2);
      expect(r.stderr).not.toContain('ENOENT');
      expect(r.stderr).toContain('--config FILE');
      expect(r.stderr).toContain('SWITCHBOARD_CONFIG');
      expect(r.stderr).toContain('config/demo.yaml');
    } finally {
      await dir.remove();
    }
  });
});

describe('the demo (README quick start)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let url = '';
  let output = '';
  let child: ReturnType<typeof spawn> | undefined;

  beforeAll(async () => {
    dir = await tempDir();
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    // From a folder of its own, as a newcomer would: ./data/demo is created there.
    child = spawn(process.execPath, [BIN, 'start', '--config', join(REPO, 'config/demo.yaml')], {
      cwd: dir.path,
      env: { ...process.env, PORT: String(port), SWITCHBOARD_CONFIG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    await waitFor(`the demo gateway (${output.slice(-2000)})`, async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.ok, 30_000);
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      await new Promise<void>((resolve) => {
        child!.once('exit', () => resolve());
        child!.kill('SIGTERM');
      });
    }
    await dir.remove();
  });

  const fileLines = async (name: string) => lines(await readFile(join(dir.path, 'data/demo', name), 'utf8').catch(() => ''))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const post = (body: unknown) => fetch(`${url}/forms/contact`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('the README form message writes one line to tickets.jsonl: the routed ticket with its requester', async () => {
    const res = await post({ email: 'player@example.com', name: 'Dilnoza', message: 'Вывод не пришёл уже 3 дня', topic: 'payments', submissionId: 'demo-0001' });
    expect(res.status).toBe(200);
    const [ticket, ...more] = await waitFor('the ticket line', async () => {
      const l = await fileLines('tickets.jsonl');
      return l.length > 0 ? l : undefined;
    });
    expect(more).toEqual([]);
    expect(ticket).toMatchObject({
      op: 'createTicket',
      ticketId: '1',
      requester: { id: 'email:player@example.com', email: 'player@example.com', displayName: 'Dilnoza' },
      priority: 'high',
      tags: expect.arrayContaining(['payments', 'withdrawal', 'rule_withdrawal']),
      group: 'payments',
    });
    // The rules that fired are tags written with the ticket, not a note of their own.
    expect(ticket!.notes).toEqual([]);
  });

  it('a responsible-gaming message notifies slack:compliance, which the demo writes to notices.jsonl', async () => {
    expect((await post({ email: 'p2@example.com', message: 'хочу самоисключение на полгода', submissionId: 'demo-0002' })).status).toBe(200);
    const [notice] = await waitFor('the notice line', async () => {
      const l = await fileLines('notices.jsonl');
      return l.length > 0 ? l : undefined;
    });
    expect(notice).toMatchObject({ target: 'compliance', priority: 'urgent', rules: expect.arrayContaining(['responsible-gaming']) });
    expect((await fileLines('tickets.jsonl')).filter((l) => l.op === 'createTicket')).toHaveLength(2);
  });

  it('logs no warning on the happy path', () => {
    const logged = lines(output).map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(logged.filter((l) => l.level >= 40).map((l) => l.msg)).toEqual([]);
  });
});
