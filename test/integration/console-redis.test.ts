import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registry } from '../../connectors/registry.ts';
import { startGateway, type Gateway, type Role } from '../../src/gateway.ts';
import { redisAvailableOrExplain, startRedis, type RedisServer } from '../fakes/redis-server.ts';
import { tempDir, waitFor } from '../e2e/harness.ts';

/** On Redis the console of any process shows every process: an ingress and a worker here. */

const available = redisAvailableOrExplain('the console across processes on Redis');
const ADMIN = 'admin-token-redis-0123456789';

describe.runIf(available)('the console with several processes on Redis', () => {
  let server: RedisServer;
  let dir: { path: string; remove(): Promise<void> };
  const gateways: Gateway[] = [];

  const start = async (role: Role) => {
    const file = join(dir.path, `${role}.yaml`);
    await writeFile(file, `
server: { host: 127.0.0.1, adminToken: ${ADMIN} }
store: { kind: redis, url: ${server.url}, prefix: console-test }
log: { level: silent }
helpdesk: { kind: jsonl, path: ${dir.path}/tickets.jsonl }
channels:
  contact: { kind: webform, fields: { message: { required: true } } }
`);
    const gw = await startGateway({ configFile: file, registry, role, port: 0, env: {} });
    gateways.push(gw);
    return gw;
  };

  beforeAll(async () => {
    server = await startRedis();
    dir = await tempDir('switchboard-console-redis-');
  });
  afterAll(async () => {
    for (const gw of gateways) await gw.close();
    await server?.close();
    await dir?.remove();
  });

  it('shows one section per live process, with its role and its channels', async () => {
    const ingress = await start('ingress');
    await start('worker');
    const overview = await waitFor('both processes on the overview', async () => {
      const res = await ingress.app.inject({ method: 'GET', url: '/admin', headers: { authorization: `Bearer ${ADMIN}` } });
      return (res.body.match(/data-process=/g) ?? []).length === 2 ? res.body : undefined;
    });
    expect(overview).toMatch(/\(this one\) <span class="muted">\(ingress,/);
    expect(overview).toMatch(/<span class="muted">\(worker,/);
    expect(overview).toContain('No channels run in this process (worker).');
    expect(overview).toContain('data-channel="contact"');
  });

  it('forgets a process that stopped publishing', async () => {
    const board = gateways[0]!.runtime.processes!;
    await board.publish('gone:1', JSON.stringify({ id: 'gone:1' }), 50);
    expect((await board.list()).some((r) => r.includes('gone:1'))).toBe(true);
    await waitFor('the report to expire', async () => !(await board.list()).some((r) => r.includes('gone:1')));
  });
});
