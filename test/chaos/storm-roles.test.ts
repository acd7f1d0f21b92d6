import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tgUpdate } from '../fakes/telegram-server.ts';
import { redisAvailableOrExplain } from '../fakes/redis-server.ts';
import { GatewayProcess, tempDir, waitFor } from '../e2e/harness.ts';
import { closeFakes, CREDENTIALS, fakeEnv, startFakes, yaml, type Started } from '../fixtures/gateway.ts';

/**
 * An ingress process that yields to worker processes short of CPU (docs/scaling.md, "Separate
 * ingress and worker processes"): while the workers' flag is up and the ingress shares its core
 * with others, webhooks that come in the deliveries' part of a cycle wait (at most
 * `maxWaitingWebhooks` of a route; the next is answered 503 with Retry-After), and every one is
 * still acknowledged, stored and delivered once, by the worker process. The flag is raised here
 * as a worker short of CPU raises it (the same key, every cycle), and the ingress is pinned to
 * one core with a busy neighbour: how a worker decides it is short is in
 * test/unit/workers-short.test.ts, and a starved worker cannot be made on demand. */

const PREFIX = 'stormroles';
const MAX_WAITING = 3;

const config = (dataDir: string) => `
${yaml.base({
  dataDir,
  store: `{ kind: redis, url: "\${REDIS_URL}", prefix: ${PREFIX} }`,
  log: 'warn',
  // Slots for every conversation of a burst: the real worker is never behind, so it never raises the flag itself.
  delivery: `{ maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 500, concurrency: 100, maxWaitingWebhooks: ${MAX_WAITING}, floodLimit: false }`,
})}
${yaml.zendesk('  requestsPerMinute: 6000')}
channels:
${yaml.telegram()}
`;

const available = redisAvailableOrExplain('the ingress/worker storm test');

describe.runIf(available)('an ingress process yielding to short worker processes (Redis)', () => {
  let fakes: Started<{ redis: true; zendesk: true; telegram: true }>;
  let dir: { path: string; remove(): Promise<void> };
  let redis: Redis;
  let flag: NodeJS.Timeout | undefined;
  let neighbour: ChildProcess | undefined;
  const procs: GatewayProcess[] = [];
  let ingress: GatewayProcess;
  let update = 1;

  beforeAll(async () => {
    fakes = await startFakes({ redis: true, zendesk: true, telegram: true });
    dir = await tempDir('switchboard-storm-roles-');
    const env = fakeEnv(fakes);
    const file = join(dir.path, 'switchboard.yaml');
    await writeFile(file, config(join(dir.path, 'data')));
    redis = new Redis(fakes.redis.url);
    for (const role of ['ingress', 'worker'] as const) {
      const p = await GatewayProcess.sibling(file, env, role);
      procs.push(p);
      await p.start();
    }
    ingress = procs[0]!;
  });
  afterAll(async () => {
    clearInterval(flag);
    neighbour?.kill('SIGKILL');
    redis?.disconnect();
    await Promise.all(procs.map((p) => p.stop()));
    await closeFakes(fakes);
    await dir?.remove();
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') for (const p of procs) console.error(`--- ${p.role} ${p.url}\n${p.output.slice(-4000)}`);
  });

  /** A new conversation's first message per chat; sent again as the same update, as Telegram does. */
  const updates = new Map<number, object>();
  const updateOf = (chat: number, text: string) => {
    if (!updates.has(chat)) updates.set(chat, tgUpdate.text(chat, `${text} ${chat}`, { updateId: update++, messageId: 1 }));
    return updates.get(chat)!;
  };

  /** One webhook per chat, all at once; each answer's status and Retry-After. */
  async function burst(chats: number[], text: string) {
    return Promise.all(chats.map(async (chat) => {
      const res = await fetch(`${ingress.url}/webhooks/telegram`, {
        method: 'POST',
        body: JSON.stringify(updateOf(chat, text)),
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': CREDENTIALS.telegram.secret },
      });
      await res.arrayBuffer();
      return { chat, status: res.status, retryAfter: res.headers.get('retry-after') };
    }));
  }

  /** The messages starting with `text` in the helpdesk's comments (`text <chat>`), one per comment. */
  const delivered = (text: string) =>
    fakes.zendesk.tickets.flatMap((t) => t.comments.flatMap((c) => c.body.match(new RegExp(`${text} \\d+`))?.[0] ?? []));
  const chatsFrom = (first: number) => Array.from({ length: 12 }, (_, i) => first + i);

  it('with no worker short, bursts are taken in at once: none is refused, even with the cap reached', async () => {
    for (let round = 0; round < 3; round++) {
      const answers = await burst(chatsFrom(920_000 + round * 100), 'calm');
      expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    }
    await waitFor('every calm message delivered', () => delivered('calm').length === 36);
  });

  it('while a worker is short and the ingress shares its core, webhooks beyond the cap are refused with 503 and Retry-After; sent again, every one is acknowledged and delivered once', async () => {
    // The ingress shares core 0 with a process that never sleeps, as it would with busy workers.
    execFileSync('taskset', ['-a', '-p', '-c', '0', String(ingress.pid)], { stdio: 'ignore' });
    neighbour = spawn('taskset', ['-c', '0', process.execPath, '-e', 'for (;;);'], { stdio: 'ignore' });
    const raise = () => void redis.set(`${PREFIX}:workers-short`, '1', 'PX', 750);
    raise();
    flag = setInterval(raise, 250);
    const refused: { chat: number; retryAfter: string | null }[] = [];
    const sent: number[] = [];
    // Bursts of new conversations until one lands in the deliveries' part of a cycle (a burst in
    // the webhooks' part goes in at once).
    await waitFor('a burst refused beyond the cap', async () => {
      const chats = chatsFrom(930_000 + sent.length);
      sent.push(...chats);
      const answers = await burst(chats, 'storm');
      expect(answers.filter((a) => a.status !== 200 && a.status !== 503)).toEqual([]);
      refused.push(...answers.filter((a) => a.status === 503));
      return refused.length > 0;
    });
    expect(refused.every((r) => r.retryAfter === '1')).toBe(true);
    // The channel sends each refused update again until it is taken.
    let again = refused.map((r) => r.chat);
    while (again.length > 0) {
      const answers = await burst(again, 'storm');
      again = answers.filter((a) => a.status === 503).map((a) => a.chat);
    }
    clearInterval(flag);
    flag = undefined;
    neighbour.kill('SIGKILL');
    // Every message sent reached the helpdesk, once.
    await waitFor('every stormed message delivered', () => delivered('storm').length >= sent.length);
    const comments = delivered('storm');
    expect(comments.toSorted()).toEqual(sent.map((chat) => `storm ${chat}`).toSorted());
  });
});
