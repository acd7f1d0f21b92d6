import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tgUpdate } from '../fakes/telegram-server.ts';
import { redisAvailableOrExplain } from '../fakes/redis-server.ts';
import { GatewayProcess, runCli, tempDir, waitFor } from '../e2e/harness.ts';
import { closeFakes, CREDENTIALS, fakeEnv, startFakes, yaml, type Started } from '../fixtures/gateway.ts';
import { metric, metricTotal } from '../fixtures/metrics.ts';

/**
 * `--role ingress|worker` as an engineer on call runs them: the ingress accepts and stores but
 * delivers nothing, a worker delivers and mounts no channel routes, each process reports its
 * own metrics, the dead-letter CLI works on Redis, and the embedded store refuses a split.
 */

const config = (dataDir: string, store?: string) => `
${yaml.base({ dataDir, store, log: 'warn', delivery: '{ maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 500, concurrency: 2 }' })}
${yaml.zendesk()}
channels:
${yaml.telegram()}
`;

const available = redisAvailableOrExplain('the process-role tests');

describe.runIf(available)('gateway roles on Redis', () => {
  // The tests follow on from each other (the second uses the first one's ingress): the fakes are not reset between them.
  let fakes: Started<{ redis: true; zendesk: true; telegram: true }>;
  let dir: { path: string; remove(): Promise<void> };
  let env: Record<string, string>;
  let file: string;
  const procs: GatewayProcess[] = [];
  const spawnRole = async (role: 'ingress' | 'worker') => {
    const p = await GatewayProcess.sibling(file, env, role);
    procs.push(p);
    await p.start();
    return p;
  };
  const post = (p: GatewayProcess, update: object) => p.post('/webhooks/telegram', update, { 'x-telegram-bot-api-secret-token': CREDENTIALS.telegram.secret });
  const zd = () => fakes.zendesk;

  beforeAll(async () => {
    fakes = await startFakes({ redis: true, zendesk: true, telegram: true });
    dir = await tempDir('switchboard-roles-');
    env = fakeEnv(fakes);
    file = join(dir.path, 'switchboard.yaml');
    await writeFile(file, config(join(dir.path, 'data'), '{ kind: redis, url: "${REDIS_URL}", prefix: roles }'));
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await closeFakes(fakes);
    await dir?.remove();
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') for (const p of procs) console.error(`--- ${p.role} ${p.url}\n${p.output.slice(-4000)}`);
  });

  it('the ingress stores and acknowledges, a worker delivers; each process has its own metrics', async () => {
    const ingress = await spawnRole('ingress');
    expect((await post(ingress, tgUpdate.text(810001, 'роли: первое сообщение', { updateId: 1, messageId: 1 }))).status).toBe(200);
    // Nobody delivers yet: the ingress itself reports the message waiting for a second (a process
    // that delivers takes a waiting job at once), and the helpdesk got no request.
    await waitFor('the message waiting a second at the ingress', async () => ((await metric(ingress, 'switchboard_oldest_queued_seconds')) ?? 0) >= 1);
    expect(zd().requests).toHaveLength(0);
    expect(await metric(ingress, 'switchboard_queue_depth')).toBe(1);

    const worker = await spawnRole('worker');
    const ticket = await waitFor('the ticket, delivered by the worker', () => zd().tickets.find((t) => t.comments.some((c) => c.body.includes('роли: первое'))));
    expect(ticket.comments).toHaveLength(1);
    // A worker mounts no channel routes: webhooks go to the ingress behind the load balancer.
    expect((await post(worker, tgUpdate.text(810001, 'wrong door', { updateId: 2, messageId: 2 }))).status).toBe(404);
    await waitFor('the worker to count the delivery', async () => (await metricTotal(worker, 'switchboard_delivered_total')) === 1);
    expect(await metricTotal(worker, 'switchboard_rate_limiter_wait_seconds_count')).toBeGreaterThanOrEqual(2); // requester + ticket
    expect(await metricTotal(ingress, 'switchboard_delivered_total')).toBeUndefined();
    expect(await metric(ingress, 'switchboard_queue_depth')).toBe(0);
  });

  it('dead letters on Redis are listed and replayed with the CLI, with the helpdesk\'s own words', async () => {
    const ingress = procs.find((p) => p.role === 'ingress')!;
    const refusal = '{"error":"RecordInvalid","description":"Record validation errors","details":{"base":[{"description":"Requester is suspended","error":"InvalidValue"}]}}';
    zd().failNext(1, { status: 422, body: refusal, headers: { 'content-type': 'application/json' } });
    expect((await post(ingress, tgUpdate.text(810002, 'refused at first', { updateId: 3, messageId: 1 }))).status).toBe(200);
    const listed = await waitFor('the dead letter', async () => {
      const r = await runCli(['dlq', 'list', '--json', '--config', file], env);
      const items = JSON.parse(r.stdout || '[]') as { id: string; detail?: string; status?: number }[];
      return items.length > 0 ? items : undefined;
    });
    expect(listed[0]).toMatchObject({ detail: refusal, status: 422 });
    const replay = await runCli(['dlq', 'replay', 'all', '--config', file], env);
    expect(replay).toMatchObject({ code: 0, stdout: 'replayed 1\n' });
    await waitFor('the replayed ticket', () => zd().tickets.find((t) => t.comments.some((c) => c.body.includes('refused at first'))));
    expect(JSON.parse((await runCli(['dlq', 'list', '--json', '--config', file], env)).stdout)).toEqual([]);
  });

  it('the embedded store refuses --role ingress|worker with a clear message', async () => {
    const embedded = join(dir.path, 'embedded.yaml');
    await writeFile(embedded, config(join(dir.path, 'data')));
    const r = await runCli(['start', '--role', 'worker', '--config', embedded], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--role worker needs a store that several processes share (store.kind: redis)');
  });
});
