import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeTelegram, tgUpdate, type FakeTelegram } from '../fakes/telegram-server.ts';
import { startFakeZendesk, type FakeZendesk } from '../fakes/zendesk-server.ts';
import { redisAvailableOrExplain, startRedis, type RedisServer } from '../fakes/redis-server.ts';
import { tempDir, waitFor } from '../e2e/harness.ts';
import { RoleProcess } from './processes.ts';

/**
 * A polling channel on several processes: Telegram allows one getUpdates per bot at a time
 * (409 Conflict otherwise), so exactly one process polls and the others stand by; when the
 * poller is killed, another takes over and no update is lost.
 */

const TG_TOKEN = '123456:LEASE-token-abcdefghijklmnopqrstu';
const ZD_TOKEN = 'zd-lease-token-0123456789';

const yaml = `
server: { port: 8080, host: 127.0.0.1 }
store: { kind: redis, url: "\${REDIS_URL}", prefix: lease, takeoverAfterMs: 1500 }
log: { level: info }
delivery: { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 500, concurrency: 2 }
helpdesk:
  kind: zendesk
  baseUrl: \${ZENDESK_URL}
  email: agent@example.com
  apiToken: \${ZENDESK_API_TOKEN}
channels:
  telegram:
    kind: telegram
    token: \${TELEGRAM_BOT_TOKEN}
    mode: polling
    pollingTimeoutSec: 1
    apiRoot: \${TELEGRAM_API_ROOT}
`;

const available = redisAvailableOrExplain('the polling-lease tests');

describe.runIf(available)('a polling channel on several processes (Redis)', () => {
  let redis: RedisServer;
  let zd: FakeZendesk;
  let tg: FakeTelegram;
  let dir: { path: string; remove(): Promise<void> };
  const procs: RoleProcess[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    zd = await startFakeZendesk({ email: 'agent@example.com', apiToken: ZD_TOKEN });
    tg = await startFakeTelegram({ token: TG_TOKEN });
    dir = await tempDir('switchboard-lease-');
    const file = join(dir.path, 'switchboard.yaml');
    await writeFile(file, yaml);
    const env = { REDIS_URL: redis.url, ZENDESK_URL: zd.url, ZENDESK_API_TOKEN: ZD_TOKEN, TELEGRAM_BOT_TOKEN: TG_TOKEN, TELEGRAM_API_ROOT: tg.apiRoot };
    for (const name of ['first', 'second']) {
      const p = new RoleProcess(name, 'all', file, env);
      procs.push(p);
      await p.start();
    }
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGTERM')));
    await redis?.close();
    await zd?.close();
    await tg?.close();
    await dir?.remove();
  });

  const channelCheck = async (p: RoleProcess) => {
    const body = (await (await fetch(`${p.url}/readyz`)).json()) as { checks: Record<string, { ready: boolean; detail?: string }> };
    return body.checks['channel:telegram']!;
  };
  const ticketWith = (text: string) => zd.tickets.find((t) => t.comments.some((c) => c.body.includes(text)));

  it('one process polls, the other stands by and is still ready', async () => {
    tg.pushUpdate(tgUpdate.text(820001, 'lease: first message', { messageId: 1 }));
    await waitFor('the first ticket', () => ticketWith('lease: first message'));
    // Several poll cycles of both processes have passed by now.
    await new Promise((r) => setTimeout(r, 3000));
    expect(tg.maxConcurrentPolls).toBe(1);
    const checks = await Promise.all(procs.map(channelCheck));
    expect(checks.every((c) => c.ready)).toBe(true);
    expect(checks.filter((c) => c.detail?.includes('standing by'))).toHaveLength(1);
  });

  it('when the polling process is killed, the other takes over and nothing is lost', async () => {
    const checks = await Promise.all(procs.map(channelCheck));
    const poller = procs[checks.findIndex((c) => !c.detail?.includes('standing by'))]!;
    const standby = procs.find((p) => p !== poller)!;
    await poller.kill('SIGKILL');
    tg.pushUpdate(tgUpdate.text(820002, 'lease: sent while the poller was down', { messageId: 2 }));
    await waitFor('the ticket, from the process that took over', () => ticketWith('lease: sent while the poller was down'), 20_000);
    expect((await channelCheck(standby)).detail ?? '').not.toContain('standing by');
    expect(standby.output).toContain('this process runs the channel');
    expect(tg.maxConcurrentPolls).toBe(1);
    // Each message once: the killed poller's last batch, if any, was deduped.
    expect(zd.tickets.flatMap((t) => t.comments).filter((c) => c.body.includes('lease:'))).toHaveLength(2);
  });
});
