import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HelpdeskInstance, TicketInput } from '../../src/core/connector.ts';
import { definition, UsedeskOptions } from '../../connectors/helpdesks/usedesk/index.ts';
import { startFakeUsedesk, type FakeUsedesk } from '../fakes/usedesk-server.ts';
import { memoryKv } from '../../src/runtime/memory-kv.ts';
import { silent } from '../fixtures/log.ts';
import { inboundRequest } from '../fixtures/request.ts';
import { channelRef } from '../fixtures/channel-ref.ts';
import { attempt, newMessage, ticketInput } from '../fixtures/message.ts';

/** Usedesk's chat mode against the fake Usedesk: customer messages as a live chat, agent chat replies back. */

const TOKEN = 'ud-chat-token-0123456789';
const input = (text: string, o: Partial<TicketInput> = {}): TicketInput => ticketInput({ message: newMessage(text), subject: 'Chat', ...o });

describe('Usedesk chat mode (/chat/addMessage)', () => {
  let ud: FakeUsedesk;
  let hd: HelpdeskInstance;

  beforeAll(async () => {
    ud = await startFakeUsedesk({ apiToken: TOKEN });
    hd = await definition.create(
      UsedeskOptions.parse({ baseUrl: ud.url, apiToken: TOKEN, channelId: ud.apiChannelId, chat: { channelId: ud.chatChannelId, companyId: ud.companyId } }),
      { log: silent, kv: memoryKv(), dataDir: '/nonexistent' },
    );
  });
  afterAll(async () => {
    await ud.close();
  });

  it('opens a chat, finds its ticket, continues the chat, never posts one delivery twice, and reads agents’ chat replies', async () => {
    const requester = await hd.upsertRequester({ externalId: '777', displayName: 'Azamat' }, channelRef({ id: 'telegram', kind: 'telegram' }), attempt({ idempotencyKey: 'u1' }));
    const first = await hd.createTicket(input('Здравствуйте, где мой вывод?', { notes: ['Switchboard rules fired: withdrawal.'] }), requester, attempt({ idempotencyKey: 'job-1' }));
    const ticket = ud.tickets.find((t) => String(t.id) === first.ticketId)!;
    expect(ticket.channel_id).toBe(ud.chatChannelId);
    expect(ticket.chat_id).not.toBeNull();
    expect(ticket.comments[0]).toMatchObject({ from: 'client', type: 'public', message: 'Здравствуйте, где мой вывод?' });
    expect(ticket.comments.find((c) => c.type === 'private')?.message).toContain('rules fired: withdrawal');

    const follow = input('ID 5512345', { files: [{ name: 'receipt.png', mime: 'image/png', data: Buffer.from('png bytes') }] });
    const again = await hd.appendMessage(first.ticketId, follow, requester, attempt({ idempotencyKey: 'job-2' }));
    expect(again.ticketId).toBe(first.ticketId);
    // The same delivery retried (say its note failed): the chat message is not posted again.
    await hd.appendMessage(first.ticketId, follow, requester, attempt({ idempotencyKey: 'job-2' }));
    expect(ticket.comments.filter((c) => c.message === 'ID 5512345')).toHaveLength(1);
    expect(ticket.comments.flatMap((c) => c.files).map((f) => f.data.toString())).toEqual(['png bytes']);
    expect(ud.tickets).toHaveLength(1);

    ud.addAgentReply(ticket.id, 'Вывод обработан.');
    const event = await hd.verifyAgentEvent(inboundRequest(JSON.stringify({ chat_id: ticket.chat_id, from: 'user', text: 'Вывод обработан.', secret: TOKEN, ticket: { id: ticket.id } })));
    expect(event).toMatchObject({ ok: true });
    expect(event.ok && event.ticketIds).toContain(first.ticketId);
    const replies = await hd.listAgentReplies(first.ticketId);
    expect(replies.map((r) => r.text)).toEqual(['Вывод обработан.']);
    const forged = await hd.verifyAgentEvent(inboundRequest(JSON.stringify({ chat_id: ticket.chat_id, from: 'user', secret: 'guess', ticket: { id: ticket.id } })));
    expect(forged).toMatchObject({ ok: false, status: 401 });
  });
});
