import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tgUpdate } from '../fakes/telegram-server.ts';
import { redisAvailableOrExplain } from '../fakes/redis-server.ts';
import { GatewayProcess, tempDir, waitFor } from '../e2e/harness.ts';
import { closeFakes, fakeEnv, startFakes, yaml, type Started } from '../fixtures/gateway.ts';

/**
 * A polling channel on several processes: Telegram allows one getUpdates per bot at a time
 * (409 Conflict otherwise), so exactly one process polls and the others stand by; when the
 * poller is killed, another takes over and no update is lost.
 */

const config = (dataDir: string) => `
${yaml.base({ dataDir, store: '{ kind: redis, url: "${REDIS_URL}", prefix: lease, takeoverAfterMs: 1500 }', delivery: '{ maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 500, concurrency: 2 }' })}
${yaml.zendesk()}
channels:
${yaml.telegramPolling()}
`;

const available = redisAvailableOrExplain('the polling-lease tests');

describe.runIf(available)('a polling channel on several processes (Redis)', () => {
  // The second test kills the poller the first one found: the fakes are not reset between them.
  let fakes: Started<{ redis: true; zendesk: true; telegram: true }>;
  let dir: { path: string; remove(): Promise<void> };
  const procs: GatewayProcess[] = [];
  const tg = () => fakes.telegram;
  const zd = () => fakes.zendesk;

  beforeAll(async () => {
    fakes = await startFakes({ redis: true, zendesk: true, telegram: true });
    dir = await tempDir('switchboard-lease-');
    const file = join(dir.path, 'switchboard.yaml');
    await writeFile(file, config(join(dir.path, 'data')));
    for (let i = 0; i < 2; i++) {
      const p = await GatewayProcess.sibling(file, fakeEnv(fakes));
      procs.push(p);
      await p.start();
    }
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await closeFakes(fakes);
    await dir?.remove();
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') for (const p of procs) console.error(`--- ${p.url}\n${p.output.slice(-4000)}`);
  });

  const channelCheck = async (p: GatewayProcess) => {
    const body = (await (await fetch(`${p.url}/readyz`)).json()) as { checks: Record<string, { ready: boolean; detail?: string }> };
    return body.checks['channel:telegram']!;
  };
  const ticketWith = (text: string) => zd().tickets.find((t) => t.comments.some((c) => c.body.includes(text)));

  it('one process polls, the other stands by and is still ready', async () => {
    tg().pushUpdate(tgUpdate.text(820001, 'lease: first message', { messageId: 1 }));
    await waitFor('the first ticket', () => ticketWith('lease: first message'));
    // Three more poll cycles (a second each, pollingTimeoutSec: 1), seen by Telegram: the standby had
    // as long to try the lease (takeover after 1.5 s) and poll beside the poller.
    const polls = () => tg().calls.filter((c) => c.method === 'getUpdates').length;
    const seen = polls();
    await waitFor('three more poll cycles', () => polls() >= seen + 4);
    expect(tg().maxConcurrentPolls).toBe(1);
    const checks = await Promise.all(procs.map(channelCheck));
    expect(checks.every((c) => c.ready)).toBe(true);
    expect(checks.filter((c) => c.detail?.includes('standing by'))).toHaveLength(1);
  });

  it('when the polling process is killed, the other takes over and nothing is lost', async () => {
    const checks = await Promise.all(procs.map(channelCheck));
    const poller = procs[checks.findIndex((c) => !c.detail?.includes('standing by'))]!;
    const standby = procs.find((p) => p !== poller)!;
    await poller.kill('SIGKILL');
    tg().pushUpdate(tgUpdate.text(820002, 'lease: sent while the poller was down', { messageId: 2 }));
    await waitFor('the ticket, from the process that took over', () => ticketWith('lease: sent while the poller was down'), 20_000);
    expect((await channelCheck(standby)).detail ?? '').not.toContain('standing by');
    // Its log line may still be on its way through the pipe when the ticket is seen.
    await waitFor('the takeover in the log', () => standby.output.includes('this process runs the channel'));
    expect(tg().maxConcurrentPolls).toBe(1);
    // Each message once: the killed poller's last batch, if any, was deduped.
    expect(zd().tickets.flatMap((t) => t.comments).filter((c) => c.body.includes('lease:'))).toHaveLength(2);
  });
});
