import { describe, expect, it } from 'vitest';
import { tgUpdate } from '../fakes/telegram-server.ts';
import { CREDENTIALS, withGateway, yaml } from '../fixtures/gateway.ts';
import { runCli, waitFor } from './harness.ts';

/**
 * Escalation notices from the real gateway process: the shipped responsible-gaming rule sends
 * `slack:compliance`; a local fake Slack Web API receives it. Rate limits, once-per-ticket and
 * dead letters are seen from outside, as an operator would see them.
 */

const { token: SLACK_TOKEN } = CREDENTIALS.slack;
const ADMIN = CREDENTIALS.admin;
const COMPLIANCE = 'C0COMPLIANCE';

describe('escalation notices to Slack (real gateway process)', () => {
  const t = withGateway({
    fakes: { telegram: true, zendesk: true, slack: { channels: [COMPLIANCE] } },
    env: { LOG_LEVEL: 'info' },
    config: ({ dataDir }) => `
${yaml.base({ dataDir, admin: true, delivery: '{ maxAttempts: 20, baseDelayMs: 100, maxDelayMs: 1500, concurrency: 4 }' })}
${yaml.zendesk(`  groups: ${yaml.groups}`)}
channels:
${yaml.telegram()}
notifiers:
${yaml.slack({ compliance: COMPLIANCE, antifraud: 'C0ARCHIVED' })}
${yaml.igaming}
rules:
  - name: chargeback
    when: { text: { keywords: [chargeback] } }
    set: { tags: [chargeback] }
    notify: [slack:antifraud]
`,
  });
  const slack = () => t.fakes.slack;
  const zd = () => t.fakes.zendesk;

  const say = (chatId: number, text: string, updateId: number) =>
    t.gw.post('/webhooks/telegram', tgUpdate.text(chatId, text, { updateId, messageId: updateId, firstName: 'Dilnoza' }), { 'x-telegram-bot-api-secret-token': CREDENTIALS.telegram.secret });

  it('a responsible-gaming message makes exactly one Slack alert, card number masked, despite a 429 and a second message', async () => {
    // Slack's first answer is a rate limit: the notice waits Retry-After and goes out once.
    slack().failNext('chat.postMessage', 1, { status: 429, headers: { 'retry-after': '1' }, body: { ok: false, error: 'ratelimited' } });
    expect((await say(880001, 'Прошу самоисключение на 6 месяцев, закройте аккаунт. Карта 4111 1111 1111 1111', 1)).status).toBe(200);

    const alert = await waitFor('the Slack alert', () => slack().messages[0], 15_000);
    const ticket = await waitFor('the ticket', () => zd().tickets[0]);
    expect(alert.channel).toBe(COMPLIANCE);
    expect(alert.text).toMatch(new RegExp(`^\\[urgent\\] Ticket #${ticket.id}: .*responsible-gaming`));
    const body = JSON.stringify(alert.blocks);
    expect(body).toContain('**** **** **** 1111');
    expect(body).not.toMatch(/4111 1111 1111 1111|4111111111111111/);
    expect(body).toContain(`${zd().url}/agent/tickets/${ticket.id}|Ticket #${ticket.id}`);
    expect(body).toContain('responsible_gaming');
    expect(slack().requests.filter((r) => r.method === 'chat.postMessage')).toHaveLength(2);

    // The same rule firing again on the same ticket is not news.
    await say(880001, 'Самоисключение, пожалуйста, срочно', 2);
    await waitFor('the second message on the ticket', () => ticket.comments.find((c) => c.body.includes('срочно')));
    await t.settled();
    expect(slack().messages).toHaveLength(1);
    expect(t.gw.output).not.toContain(SLACK_TOKEN);
  });

  it("a notice Slack refuses is dead-lettered with Slack's own error, visible to the operator", async () => {
    expect((await say(880002, 'I will file a chargeback with my bank', 10)).status).toBe(200);
    const items = await waitFor('the dead letter', async () => {
      const res = await fetch(`${t.gw.url}/admin/dlq`, { headers: { authorization: `Bearer ${ADMIN}` } });
      const list = ((await res.json()) as { items: { error: string; detail?: string; payload: { kind: string } }[] }).items;
      return list.length > 0 ? list : undefined;
    });
    expect(items).toHaveLength(1);
    expect(items[0]!.payload.kind).toBe('notify');
    expect(items[0]!.error).toContain('channel_not_found');
    expect(items[0]!.detail).toContain('"error":"channel_not_found"');
    expect(slack().messages.filter((m) => m.channel === 'C0ARCHIVED')).toHaveLength(0);
  });

  it('`switchboard check --online` proves the Slack token', async () => {
    const r = await runCli(['check', '--online', '--config', t.configFile], t.env);
    expect(r.stdout).toContain('notifier slack: OK, Slack: bot switchboard in workspace Acme');
    expect(r.stdout + r.stderr).not.toContain(SLACK_TOKEN);
  });
});
