import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeTelegram, tgUpdate, type FakeTelegram } from '../fakes/telegram-server.ts';
import { startFakeZendesk, type FakeZendesk } from '../fakes/zendesk-server.ts';
import { redisAvailableOrExplain, startRedis, type RedisServer } from '../fakes/redis-server.ts';
import { runCli, tempDir, waitFor } from '../e2e/harness.ts';
import { RoleProcess } from './processes.ts';

/**
 * `--role ingress|worker` as an engineer on call runs them: the ingress accepts and stores but
 * delivers nothing, a worker delivers and mounts no channel routes, each process reports its
 * own metrics, the dead-letter CLI works on Redis, and the embedded store refuses a split.
 */

const TG_TOKEN = '123456:ROLES-token-abcdefghijklmnopqrstu';
const TG_SECRET = 'roles-secret-token_0123456789';
const ZD_TOKEN = 'zd-roles-token-0123456789';

const yaml = (store: string) => `
server: { port: 8080, host: 127.0.0.1 }
store: ${store}
log: { level: warn }
delivery: { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 500, concurrency: 2 }
helpdesk:
  kind: zendesk
  baseUrl: \${ZENDESK_URL}
  email: agent@example.com
  apiToken: \${ZENDESK_API_TOKEN}
  webhookSecret: roles-zendesk-signing-secret-0123
channels:
  telegram:
    kind: telegram
    token: \${TELEGRAM_BOT_TOKEN}
    mode: webhook
    secretToken: \${TELEGRAM_WEBHOOK_SECRET}
    apiRoot: \${TELEGRAM_API_ROOT}
`;

const available = redisAvailableOrExplain('the process-role tests');

describe.runIf(available)('gateway roles on Redis', () => {
  let redis: RedisServer;
  let zd: FakeZendesk;
  let tg: FakeTelegram;
  let dir: { path: string; remove(): Promise<void> };
  let env: Record<string, string>;
  let file: string;
  const procs: RoleProcess[] = [];
  const spawnRole = async (role: 'ingress' | 'worker') => {
    const p = new RoleProcess(role, role, file, env);
    procs.push(p);
    await p.start();
    return p;
  };
  const post = (p: RoleProcess, update: object) =>
    fetch(`${p.url}/webhooks/telegram`, {
      method: 'POST',
      body: JSON.stringify(update),
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': TG_SECRET },
    });
  const metric = async (p: RoleProcess, name: string) => {
    const text = await (await fetch(`${p.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    return line === undefined ? undefined : Number(line.split(' ').pop());
  };

  beforeAll(async () => {
    redis = await startRedis();
    zd = await startFakeZendesk({ email: 'agent@example.com', apiToken: ZD_TOKEN });
    tg = await startFakeTelegram({ token: TG_TOKEN });
    dir = await tempDir('switchboard-roles-');
    env = { REDIS_URL: redis.url, ZENDESK_URL: zd.url, ZENDESK_API_TOKEN: ZD_TOKEN, TELEGRAM_BOT_TOKEN: TG_TOKEN, TELEGRAM_WEBHOOK_SECRET: TG_SECRET, TELEGRAM_API_ROOT: tg.apiRoot };
    file = join(dir.path, 'switchboard.yaml');
    await writeFile(file, yaml('{ kind: redis, url: "${REDIS_URL}", prefix: roles }'));
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGTERM')));
    await redis?.close();
    await zd?.close();
    await tg?.close();
    await dir?.remove();
  });

  it('the ingress stores and acknowledges, a worker delivers; each process has its own metrics', async () => {
    const ingress = await spawnRole('ingress');
    expect((await post(ingress, tgUpdate.text(810001, 'роли: первое сообщение', { updateId: 1, messageId: 1 }))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1000));
    expect(zd.tickets).toHaveLength(0); // nobody delivers yet
    expect(await metric(ingress, 'switchboard_queue_depth')).toBe(1);

    const worker = await spawnRole('worker');
    const ticket = await waitFor('the ticket, delivered by the worker', () => zd.tickets.find((t) => t.comments.some((c) => c.body.includes('роли: первое'))));
    expect(ticket.comments).toHaveLength(1);
    // A worker mounts no channel routes: webhooks go to the ingress behind the load balancer.
    expect((await post(worker, tgUpdate.text(810001, 'wrong door', { updateId: 2, messageId: 2 }))).status).toBe(404);
    await waitFor('the worker to count the delivery', async () => (await metric(worker, 'switchboard_delivered_total')) === 1);
    expect(await metric(worker, 'switchboard_rate_limiter_wait_seconds_count')).toBeGreaterThanOrEqual(2); // requester + ticket
    expect(await metric(ingress, 'switchboard_delivered_total')).toBeUndefined();
    expect(await metric(ingress, 'switchboard_queue_depth')).toBe(0);
  });

  it('dead letters on Redis are listed and replayed with the CLI, with the helpdesk\'s own words', async () => {
    const ingress = procs.find((p) => p.role === 'ingress')!;
    const refusal = '{"error":"RecordInvalid","description":"Record validation errors","details":{"base":[{"description":"Requester is suspended","error":"InvalidValue"}]}}';
    zd.failNext(1, { status: 422, body: refusal, headers: { 'content-type': 'application/json' } });
    expect((await post(ingress, tgUpdate.text(810002, 'refused at first', { updateId: 3, messageId: 1 }))).status).toBe(200);
    const listed = await waitFor('the dead letter', async () => {
      const r = await runCli(['dlq', 'list', '--json', '--config', file], env);
      const items = JSON.parse(r.stdout || '[]') as { id: string; detail?: string; status?: number }[];
      return items.length > 0 ? items : undefined;
    });
    expect(listed[0]).toMatchObject({ detail: refusal, status: 422 });
    const replay = await runCli(['dlq', 'replay', 'all', '--config', file], env);
    expect(replay).toMatchObject({ code: 0, stdout: 'replayed 1\n' });
    await waitFor('the replayed ticket', () => zd.tickets.find((t) => t.comments.some((c) => c.body.includes('refused at first'))));
    expect(JSON.parse((await runCli(['dlq', 'list', '--json', '--config', file], env)).stdout)).toEqual([]);
  });

  it('the embedded store refuses --role ingress|worker with a clear message', async () => {
    const embedded = join(dir.path, 'embedded.yaml');
    await writeFile(embedded, yaml(`{ kind: embedded, path: "${dir.path}/data" }`));
    const r = await runCli(['start', '--role', 'worker', '--config', embedded], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--role worker needs a store that several processes share (store.kind: redis)');
  });
});
