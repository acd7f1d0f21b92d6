import { describe, expect, it } from 'vitest';
import type { FakeFreshdesk } from '../fakes/freshdesk-server.ts';
import { tgUpdate, type FakeTelegram } from '../fakes/telegram-server.ts';
import type { FakeUsedesk } from '../fakes/usedesk-server.ts';
import { CREDENTIALS, settled, withGateway, yaml } from '../fixtures/gateway.ts';
import { type GatewayProcess, waitFor } from './harness.ts';

/**
 * Switching helpdesk is a config change: the real `switchboard start` process, the same channels
 * and rules, once against a fake Freshdesk and once against a fake Usedesk (local HTTP servers
 * speaking their documented formats). A Telegram message and a form submission about the same
 * thing make equivalent tickets; an agent's reply comes back to the Telegram chat, once.
 */

const GROUP_IDS = [101, 102, 103, 104, 105, 106];

function configYaml(dataDir: string, helpdesk: string): string {
  return `
${yaml.base({ dataDir, publicUrl: 'http://127.0.0.1:8080', log: 'warn', delivery: '{ maxAttempts: 20, baseDelayMs: 100, maxDelayMs: 1000, concurrency: 4 }' })}
timezone: Asia/Tashkent
${helpdesk}
channels:
${yaml.telegram()}
${yaml.contact({ topics: true })}
${yaml.igaming}
rules:
  - name: vip-form
    when: { channel: contact, form: { topic: payments } }
    set: { tags: [form_payments] }
`;
}

/** A ticket as both helpdesks are compared: in the gateway's words. */
interface Seen {
  id: number;
  priority: string;
  tags: string[];
  group: number | null;
  text: string;
  requester: { email?: string | null; channelId?: string | null };
}

interface Target {
  tickets(): Seen[];
  agentReply(ticketId: number, text: string): void;
  /** The webhook the helpdesk would send for the ticket's newest agent reply; `forged` with a wrong secret. */
  webhook(ticketId: number, forged?: boolean): { body: string; headers: Record<string, string> };
}

const { webhookSecret: FD_SECRET } = CREDENTIALS.freshdesk;
const { apiToken: UD_TOKEN } = CREDENTIALS.usedesk;

function freshdesk(fd: FakeFreshdesk): Target {
  const priority = ['', 'low', 'normal', 'high', 'urgent'];
  return {
    tickets: () =>
      fd.tickets.map((t) => {
        const c = fd.contacts.find((x) => x.id === t.requester_id);
        return { id: t.id, priority: priority[t.priority]!, tags: t.tags, group: t.group_id, text: t.description_text, requester: { email: c?.email, channelId: c?.unique_external_id } };
      }),
    agentReply: (ticketId, text) => void fd.addAgentReply(ticketId, text),
    webhook: (ticketId, forged) => ({
      body: JSON.stringify({ ticket_id: String(ticketId) }),
      headers: { 'x-switchboard-secret': forged ? 'a-guess-at-the-secret' : FD_SECRET },
    }),
  };
}

function usedesk(ud: FakeUsedesk): Target {
  const priority: Record<string, string> = { low: 'low', medium: 'normal', urgent: 'high', extreme: 'urgent' };
  return {
    tickets: () =>
      ud.tickets.map((t) => {
        const c = ud.clients.find((x) => x.id === t.client_id);
        return { id: t.id, priority: priority[t.priority]!, tags: t.tags, group: t.group, text: t.comments[0]?.message ?? '', requester: { email: c?.emails[0], channelId: c?.messengers[0]?.identity } };
      }),
    agentReply: (ticketId, text) => void ud.addAgentReply(ticketId, text),
    webhook(ticketId, forged) {
      const ticket = ud.tickets.find((t) => t.id === ticketId)!;
      // The newest agent comment; before any, the customer's (a forged webhook is refused whatever it names).
      const comment = ticket.comments.filter((c) => c.from === 'user').at(-1) ?? ticket.comments.at(-1)!;
      return { body: JSON.stringify(ud.commentWebhook(comment, forged ? 'a-guess-at-the-token' : UD_TOKEN)), headers: {} };
    },
  };
}

describe('the same channels and rules into Freshdesk (real gateway process)', () => {
  const t = withGateway({
    fakes: { telegram: true, freshdesk: { groups: GROUP_IDS, customFields: ['cf_player_id'] } },
    config: ({ dataDir }) => configYaml(dataDir, yaml.freshdesk(`  groups: ${yaml.groups}\n  fields: { player_id: cf_player_id }`)),
  });
  sameTickets(() => ({ gw: t.gw, tg: t.fakes.telegram, target: freshdesk(t.fakes.freshdesk) }));
});

describe('the same channels and rules into Usedesk (real gateway process)', () => {
  const t = withGateway({
    fakes: { telegram: true, usedesk: { groups: GROUP_IDS, fields: [901] } },
    config: ({ dataDir, fakes }) => configYaml(dataDir, yaml.usedesk(fakes.usedesk.apiChannelId, `  groups: ${yaml.groups}\n  fields: { player_id: 901 }`)),
  });
  sameTickets(() => ({ gw: t.gw, tg: t.fakes.telegram, target: usedesk(t.fakes.usedesk) }));
});

/** The test both helpdesks pass: `under()` is the running gateway, the fake Telegram and the helpdesk. */
function sameTickets(under: () => { gw: GatewayProcess; tg: FakeTelegram; target: Target }): void {
  it('a Telegram message and a form submission make equivalent tickets; the agent’s reply reaches the chat once; a forged webhook is refused', async () => {
    const { gw, tg, target } = under();
    const tgAnswer = await gw.post('/webhooks/telegram', tgUpdate.text(777301, 'Здравствуйте, вывод не пришёл уже 3 дня', { updateId: 1, messageId: 10, firstName: 'Azamat' }), {
      'x-telegram-bot-api-secret-token': CREDENTIALS.telegram.secret,
    });
    expect(tgAnswer.status).toBe(200);
    const fromChat = await waitFor('the Telegram ticket', () => target.tickets().find((t) => t.requester.channelId?.includes('777301')), 20_000);

    const formAnswer = await gw.post('/forms/contact', { email: 'dilnoza@example.com', name: 'Dilnoza', message: 'Вывод не пришёл уже 3 дня', topic: 'payments', submissionId: 'e2e-form-0001' });
    expect(formAnswer.status).toBe(200);
    const fromForm = await waitFor('the form ticket', () => target.tickets().find((t) => t.requester.email === 'dilnoza@example.com'), 20_000);

    // The same rules made the same routing on both.
    for (const t of [fromChat, fromForm]) {
      expect(t.priority).toBe('high');
      expect(t.group).toBe(101);
      expect(t.tags).toEqual(expect.arrayContaining(['payments', 'withdrawal']));
      expect(t.text).toMatch(/вывод не пришёл уже 3 дня/i);
    }
    expect(fromForm.tags).toContain('form_payments');
    expect(fromChat.tags).not.toContain('form_payments');

    const forged = target.webhook(fromChat.id, true);
    expect((await gw.post('/helpdesk/events', forged.body, forged.headers)).status).toBe(401);

    target.agentReply(fromChat.id, 'Здравствуйте! Проверяем ваш вывод, ответим в течение часа.');
    const event = target.webhook(fromChat.id);
    // Helpdesks retry webhooks: the same event three times delivers the reply once.
    for (let i = 0; i < 3; i++) expect((await gw.post('/helpdesk/events', event.body, event.headers)).status).toBe(200);
    await waitFor('the reply in Telegram', () => tg.sent.find((m) => m.text?.includes('Проверяем ваш вывод')), 20_000);
    await settled(gw);
    const replies = tg.sent.filter((m) => m.text?.includes('Проверяем ваш вывод'));
    expect(replies).toHaveLength(1);
    expect(replies[0]!.chat_id).toBe('777301');
    expect(target.tickets()).toHaveLength(2);
  }, 60_000);
}
