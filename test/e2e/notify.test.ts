import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeSlack, type FakeSlack } from '../fakes/slack-server.ts';
import { startFakeTelegram, tgUpdate, type FakeTelegram } from '../fakes/telegram-server.ts';
import { startFakeZendesk, type FakeZendesk } from '../fakes/zendesk-server.ts';
import { GatewayProcess, REPO, runCli, settled, tempDir, waitFor } from './harness.ts';

/**
 * Escalation notices from the real gateway process: the shipped responsible-gaming rule sends
 * `slack:compliance`; a local fake Slack Web API receives it. Rate limits, once-per-ticket and
 * dead letters are seen from outside, as an operator would see them.
 */

const TG_TOKEN = '123456:NOTIFY-token-abcdefghijklmnopqrs';
const TG_SECRET = 'tg-secret-notify_0123456789';
const ZD_TOKEN = 'zd-api-token-notify-0123';
const SLACK_TOKEN = 'xoxb-1111-2222-notifyTEST';
const ADMIN = 'admin-token-notify-0123456789';
const COMPLIANCE = 'C0COMPLIANCE';

function configYaml(dataDir: string): string {
  return `
server:
  port: 8080
  host: 127.0.0.1
  adminToken: \${ADMIN_TOKEN}
store: { kind: embedded, path: ${dataDir} }
log:
  level: \${LOG_LEVEL:-warn}
delivery: { maxAttempts: 20, baseDelayMs: 100, maxDelayMs: 1500, concurrency: 4 }
helpdesk:
  kind: zendesk
  baseUrl: \${ZENDESK_URL}
  email: agent@example.com
  apiToken: \${ZENDESK_API_TOKEN}
  groups: { payments: 101, compliance: 102, responsible_gaming: 103, bonuses: 104, betting: 105, general: 106 }
channels:
  telegram:
    kind: telegram
    token: \${TELEGRAM_BOT_TOKEN}
    secretToken: \${TELEGRAM_WEBHOOK_SECRET}
    apiRoot: \${TELEGRAM_API_ROOT}
notifiers:
  slack:
    kind: slack
    token: \${SLACK_BOT_TOKEN}
    apiUrl: \${SLACK_API_URL}
    channels:
      compliance: ${COMPLIANCE}
      antifraud: C0ARCHIVED
include: [${REPO}config/rules/igaming.yaml]
rules:
  - name: chargeback
    when: { text: { keywords: [chargeback] } }
    set: { tags: [chargeback] }
    notify: [slack:antifraud]
`;
}

describe('escalation notices to Slack (real gateway process)', () => {
  let tg: FakeTelegram;
  let zd: FakeZendesk;
  let slack: FakeSlack;
  let dir: { path: string; remove(): Promise<void> };
  let gw: GatewayProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    tg = await startFakeTelegram({ token: TG_TOKEN });
    zd = await startFakeZendesk({ email: 'agent@example.com', apiToken: ZD_TOKEN });
    slack = await startFakeSlack({ token: SLACK_TOKEN, channels: [COMPLIANCE] });
    dir = await tempDir();
    env = {
      LOG_LEVEL: 'info',
      ADMIN_TOKEN: ADMIN,
      ZENDESK_URL: zd.url,
      ZENDESK_API_TOKEN: ZD_TOKEN,
      TELEGRAM_BOT_TOKEN: TG_TOKEN,
      TELEGRAM_WEBHOOK_SECRET: TG_SECRET,
      TELEGRAM_API_ROOT: tg.apiRoot,
      SLACK_BOT_TOKEN: SLACK_TOKEN,
      SLACK_API_URL: slack.apiUrl,
    };
    gw = await GatewayProcess.create(dir.path, configYaml(`${dir.path}/data`), env);
    await gw.start();
  });
  afterAll(async () => {
    await gw?.stop();
    await Promise.all([tg?.close(), zd?.close(), slack?.close()]);
    await dir?.remove();
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') console.error(gw.output.slice(-6000));
  });

  const say = (chatId: number, text: string, updateId: number) =>
    gw.post('/webhooks/telegram', tgUpdate.text(chatId, text, { updateId, messageId: updateId, firstName: 'Dilnoza' }), { 'x-telegram-bot-api-secret-token': TG_SECRET });

  it('a responsible-gaming message makes exactly one Slack alert, card number masked, despite a 429 and a second message', async () => {
    // Slack's first answer is a rate limit: the notice waits Retry-After and goes out once.
    slack.failNext('chat.postMessage', 1, { status: 429, headers: { 'retry-after': '1' }, body: { ok: false, error: 'ratelimited' } });
    expect((await say(880001, 'Прошу самоисключение на 6 месяцев, закройте аккаунт. Карта 4111 1111 1111 1111', 1)).status).toBe(200);

    const alert = await waitFor('the Slack alert', () => slack.messages[0], 15_000);
    const ticket = await waitFor('the ticket', () => zd.tickets[0]);
    expect(alert.channel).toBe(COMPLIANCE);
    expect(alert.text).toMatch(new RegExp(`^\\[urgent\\] Ticket #${ticket.id}: .*responsible-gaming`));
    const body = JSON.stringify(alert.blocks);
    expect(body).toContain('**** **** **** 1111');
    expect(body).not.toMatch(/4111 1111 1111 1111|4111111111111111/);
    expect(body).toContain(`${zd.url}/agent/tickets/${ticket.id}|Ticket #${ticket.id}`);
    expect(body).toContain('responsible_gaming');
    expect(slack.requests.filter((r) => r.method === 'chat.postMessage')).toHaveLength(2);

    // The same rule firing again on the same ticket is not news.
    await say(880001, 'Самоисключение, пожалуйста, срочно', 2);
    await waitFor('the second message on the ticket', () => ticket.comments.find((c) => c.body.includes('срочно')));
    await settled(gw);
    expect(slack.messages).toHaveLength(1);
    expect(gw.output).not.toContain(SLACK_TOKEN);
  });

  it("a notice Slack refuses is dead-lettered with Slack's own error, visible to the operator", async () => {
    expect((await say(880002, 'I will file a chargeback with my bank', 10)).status).toBe(200);
    const items = await waitFor('the dead letter', async () => {
      const res = await fetch(`${gw.url}/admin/dlq`, { headers: { authorization: `Bearer ${ADMIN}` } });
      const list = ((await res.json()) as { items: { error: string; detail?: string; payload: { kind: string } }[] }).items;
      return list.length > 0 ? list : undefined;
    });
    expect(items).toHaveLength(1);
    expect(items[0]!.payload.kind).toBe('notify');
    expect(items[0]!.error).toContain('channel_not_found');
    expect(items[0]!.detail).toContain('"error":"channel_not_found"');
    expect(slack.messages.filter((m) => m.channel === 'C0ARCHIVED')).toHaveLength(0);
  });

  it('`switchboard check --online` proves the Slack token', async () => {
    const r = await runCli(['check', '--online', '--config', `${dir.path}/switchboard.yaml`], env);
    expect(r.stdout).toContain('notifier slack: OK, Slack: bot switchboard in workspace Acme');
    expect(r.stdout + r.stderr).not.toContain(SLACK_TOKEN);
  });
});
