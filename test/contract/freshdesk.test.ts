import { definition, FreshdeskOptions } from '../../connectors/helpdesks/freshdesk/index.ts';
import { startFakeFreshdesk, type FdTicket, type FakeFreshdesk } from '../fakes/freshdesk-server.ts';
import { helpdeskContract, type ContractTicket } from './helpdesk-contract.ts';
import { memoryKv } from '../../src/runtime/memory-kv.ts';
import { silent } from '../fixtures/log.ts';
import { inboundRequest } from '../fixtures/request.ts';

const API_KEY = 'fd-contract-key-0123456789';
const SECRET = 'fd-contract-webhook-secret-0123';
const PRIORITY = ['', 'low', 'normal', 'high', 'urgent'];

function view(t: FdTicket): ContractTicket {
  return {
    id: String(t.id),
    requesterId: String(t.requester_id),
    subject: t.subject,
    priority: PRIORITY[t.priority] ?? null,
    type: t.type,
    group: t.group_id,
    tags: t.tags,
    fields: t.custom_fields,
    messages: [
      { text: t.description_text, public: true, byRequester: true, files: t.attachments.map((a) => ({ name: a.name, size: a.size, data: a.data })) },
      ...t.conversations.map((c) => ({
        text: c.body_text,
        public: !c.private,
        byRequester: c.incoming && c.user_id === t.requester_id,
        files: c.attachments.map((a) => ({ name: a.name, size: a.size, data: a.data })),
      })),
    ],
  };
}

// The fake's file server is another port on 127.0.0.1: the private-address allowance is set explicitly.
const PRIVATE_FILES = { allowPrivateAddresses: true };

helpdeskContract({
  name: 'freshdesk',
  async start() {
    const fd: FakeFreshdesk = await startFakeFreshdesk({ apiKey: API_KEY, groups: [101], customFields: ['cf_player_id'] });
    return {
      connect: async (o = {}) =>
        definition.create(
          FreshdeskOptions.parse({ baseUrl: fd.url, apiKey: API_KEY, webhookSecret: SECRET, groups: { payments: 101 }, fields: { player_id: 'cf_player_id' }, attachments: PRIVATE_FILES, ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}) }),
          { log: silent, kv: memoryKv(), dataDir: '/nonexistent', limiter: o.limiter },
        ),
      ticket: (id) => {
        const t = fd.tickets.find((x) => String(x.id) === id);
        return t && view(t);
      },
      tickets: () => fd.tickets.map(view),
      requester: (id) => {
        const c = fd.contacts.find((x) => String(x.id) === id);
        return c && {
          id: String(c.id), name: c.name, email: c.email, phone: c.mobile ?? c.phone, externalId: c.unique_external_id,
          contacts: [c.email, ...(c.other_emails ?? []), c.phone?.replace(/\D/g, ''), c.mobile?.replace(/\D/g, '')].filter((x): x is string => !!x),
        };
      },
      requesterCount: () => fd.contacts.length,
      expected: { group: 101, fieldKey: 'cf_player_id', nativeRating4: '102' },
      reset() {
        fd.tickets.length = 0;
        fd.contacts.length = 0;
        fd.requests.length = 0;
        fd.ratings.length = 0;
      },
      statusEvent: (ticketId) => inboundRequest(JSON.stringify({ ticket_id: ticketId }), { 'X-Switchboard-Secret': SECRET }),
      requestCount: () => fd.requests.length,
      close: () => fd.close(),
      closeTicket: (id) => fd.setStatus(Number(id), 5),
      deleteTicket: (id) => fd.deleteTicket(Number(id)),
      failNext: (n, f) => fd.failNext(n, f),
      rejection: {
        status: 400,
        body: '{"description":"Validation failed","errors":[{"field":"requester_id","message":"The requester is blocked","code":"invalid_value"}]}',
      },
      addAgentReply: (ticketId, text, o = {}) =>
        void fd.addAgentReply(Number(ticketId), text, {
          private: o.private,
          attachments: o.file ? [{ name: o.file.name, content_type: o.file.mime, data: o.file.data }] : undefined,
        }),
      tagTicket: (ticketId, tag) => void fd.tickets.find((t) => String(t.id) === ticketId)!.tags.push(tag),
      solvedEvent(ticketId, tags) {
        // The body of the automation rule docs/freshdesk.md gives for "Status is changed to Resolved".
        return inboundRequest(JSON.stringify({ ticket_id: ticketId, event: 'solved', tags: tags.join(', ') }), { 'X-Switchboard-Secret': SECRET });
      },
      solveTicket: (id) => fd.setStatus(Number(id), 4),
      nativeRatings: (id) => fd.ratings.filter((r) => String(r.ticket_id) === id).map((r) => String(r.ratings.default_question)),
      agentEvent(ticketId, how) {
        // The rule body docs/freshdesk.md gives: {"ticket_id": "{{ticket.id}}", "tags": "{{ticket.tags}}"} (tags comma-separated).
        const tags = fd.tickets.find((t) => String(t.id) === ticketId)?.tags.join(', ') ?? '';
        const body = JSON.stringify({ ticket_id: ticketId, tags });
        if (how === 'unauthenticated') return inboundRequest(body);
        return inboundRequest(body, { 'X-Switchboard-Secret': how === 'authentic' ? SECRET : 'not-the-shared-secret' });
      },
    };
  },
});
