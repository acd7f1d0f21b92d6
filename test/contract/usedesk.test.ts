import { definition, UsedeskOptions } from '../../connectors/helpdesks/usedesk/index.ts';
import { htmlToPlainText } from '../../src/kit/html-text.ts';
import { startFakeUsedesk, type FakeUsedesk, type UdTicket } from '../fakes/usedesk-server.ts';
import { helpdeskContract, type ContractTicket } from './helpdesk-contract.ts';
import { memoryKv } from '../../src/runtime/memory-kv.ts';
import { silent } from '../fixtures/log.ts';
import { inboundRequest } from '../fixtures/request.ts';

const TOKEN = 'ud-contract-token-0123456789';
const PRIORITY: Record<string, string> = { low: 'low', medium: 'normal', urgent: 'high', extreme: 'urgent' };

function view(t: UdTicket): ContractTicket {
  return {
    id: String(t.id),
    requesterId: String(t.client_id),
    subject: t.subject,
    priority: PRIORITY[t.priority] ?? null,
    type: t.type,
    group: t.group,
    tags: t.tags,
    fields: Object.fromEntries(t.custom_fields.map((f) => [String(f.id), f.value])),
    messages: t.comments.map((c) => ({
      text: htmlToPlainText(c.message),
      public: c.type === 'public',
      byRequester: c.from === 'client',
      files: c.files.map((f) => ({ name: f.name, size: f.data.length, data: f.data })),
    })),
  };
}

// The fake's file server is another port on 127.0.0.1: the private-address allowance is set explicitly.
const PRIVATE_FILES = { allowPrivateAddresses: true };

helpdeskContract({
  name: 'usedesk',
  notApplicable: { playerIdOnRequester: true },
  async start() {
    const ud: FakeUsedesk = await startFakeUsedesk({ apiToken: TOKEN, groups: [101], fields: [901] });
    return {
      connect: async (o = {}) =>
        definition.create(
          UsedeskOptions.parse({ baseUrl: ud.url, apiToken: TOKEN, channelId: ud.apiChannelId, groups: { payments: 101 }, fields: { player_id: 901 }, attachments: PRIVATE_FILES, ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}) }),
          { log: silent, kv: memoryKv(), dataDir: '/nonexistent', limiter: o.limiter },
        ),
      ticket: (id) => {
        const t = ud.tickets.find((x) => String(x.id) === id);
        return t && view(t);
      },
      tickets: () => ud.tickets.map(view),
      requester: (id) => {
        const c = ud.clients.find((x) => String(x.id) === id);
        return c && {
          id: String(c.id), name: c.name, email: c.emails[0], phone: c.phones[0], externalId: c.messengers[0]?.identity ?? c.note,
          contacts: [...c.emails, ...c.phones.map((p) => p.replace(/\D/g, ''))],
        };
      },
      requesterCount: () => ud.clients.length,
      expected: { group: 101, fieldKey: '901' },
      reset() {
        ud.tickets.length = 0;
        ud.clients.length = 0;
        ud.requests.length = 0;
      },
      statusEvent: (ticketId) => inboundRequest(JSON.stringify(ud.statusWebhook(Number(ticketId), TOKEN))),
      requestCount: () => ud.requests.length,
      close: () => ud.close(),
      closeTicket: (id) => ud.setStatus(Number(id), 3),
      deleteTicket: (id) => ud.setStatus(Number(id), 4),
      failNext: (n, f) => ud.failNext(n, f),
      // Usedesk refuses with HTTP 200 and an `error` in the body.
      rejection: { status: 200, body: '{"error":"The client is blocked","code":422}' },
      addAgentReply: (ticketId, text, o = {}) =>
        void ud.addAgentReply(Number(ticketId), text, { private: o.private, files: o.file ? [{ name: o.file.name, content_type: o.file.mime, data: o.file.data }] : undefined }),
      tagTicket: (ticketId, tag) => void ud.tickets.find((t) => String(t.id) === ticketId)!.tags.push(tag),
      solvedEvent(ticketId) {
        // What the API channel's "ticket changed" webhook sends when an agent sets the status to solved (2).
        return inboundRequest(JSON.stringify({ secret: TOKEN, trigger: { ticket_id: Number(ticketId), old_status: 1, new_status: 2 } }));
      },
      solveTicket: (id) => ud.setStatus(Number(id), 2),
      agentEvent(ticketId, how) {
        const ticket = ud.tickets.find((t) => String(t.id) === ticketId)!;
        const comment = ticket.comments.filter((c) => c.from === 'user' && c.type === 'public').at(-1) ?? ticket.comments.at(-1)!;
        const body = ud.commentWebhook(comment, TOKEN);
        if (how === 'forged') body.secret = 'not-the-channel-token';
        if (how === 'unauthenticated') delete body.secret;
        return inboundRequest(JSON.stringify(body));
      },
    };
  },
});
