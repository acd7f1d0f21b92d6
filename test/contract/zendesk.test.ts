import { definition, ZendeskOptions } from '../../connectors/helpdesks/zendesk/index.ts';
import { startFakeZendesk, type FakeTicket, type FakeZendesk } from '../fakes/zendesk-server.ts';
import { helpdeskContract, type ContractTicket } from './helpdesk-contract.ts';
import { memoryKv } from '../../src/runtime/memory-kv.ts';
import { silent } from '../fixtures/log.ts';
import { inboundRequest } from '../fixtures/request.ts';

const EMAIL = 'agent@example.com';
const TOKEN = 'zd-contract-token-0123456789';
const SECRET = 'zd-contract-signing-secret-0123';
const IMPERSONATE = 'zd-contract-impersonation-0123';

function view(zd: FakeZendesk, t: FakeTicket): ContractTicket {
  return {
    id: String(t.id),
    requesterId: String(t.requester_id),
    subject: t.subject,
    priority: t.priority,
    type: t.type,
    group: t.group_id,
    tags: t.tags,
    fields: Object.fromEntries(t.custom_fields.map((f) => [String(f.id), f.value])),
    messages: t.comments.map((c) => ({
      text: c.body,
      public: c.public,
      byRequester: c.author_id === t.requester_id,
      files: c.uploads.map((u) => ({ name: u.file_name, size: u.size, data: u.data })),
    })),
  };
}

helpdeskContract({
  name: 'zendesk',
  async start() {
    const zd = await startFakeZendesk({ email: EMAIL, apiToken: TOKEN, impersonationToken: IMPERSONATE });
    return {
      connect: async (o = {}) =>
        definition.create(
          ZendeskOptions.parse({ baseUrl: zd.url, email: EMAIL, apiToken: TOKEN, webhookSecret: SECRET, csatImpersonationToken: IMPERSONATE, groups: { payments: 101 }, fields: { player_id: 900001 }, ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}) }),
          { log: silent, kv: memoryKv(), dataDir: '/nonexistent', limiter: o.limiter },
        ),
      ticket: (id) => {
        const t = zd.tickets.find((x) => String(x.id) === id);
        return t && view(zd, t);
      },
      tickets: () => zd.tickets.map((t) => view(zd, t)),
      requester: (id) => {
        const u = zd.users.find((x) => String(x.id) === id);
        return u && {
          id: String(u.id), name: u.name, email: u.email, phone: u.phone, externalId: u.external_id,
          contacts: zd.identitiesOf(u.id).map((i) => (i.type === 'email' ? i.value.toLowerCase() : i.value.replace(/\D/g, ''))),
        };
      },
      requesterCount: () => zd.users.filter((u) => u.role === 'end-user').length,
      expected: { group: 101, fieldKey: '900001', nativeRating4: 'good' },
      reset() {
        zd.tickets.length = 0;
        zd.users.length = 0;
        zd.requests.length = 0;
      },
      requestCount: () => zd.requests.length,
      close: () => zd.close(),
      closeTicket: (id) => zd.closeTicket(Number(id)),
      deleteTicket: (id) => zd.deleteTicket(Number(id)),
      failNext: (n, f) => zd.failNext(n, f),
      rejection: {
        status: 422,
        body: '{"error":"RecordInvalid","description":"Record validation errors","details":{"base":[{"description":"Requester is suspended","error":"InvalidValue"}]}}',
      },
      addAgentReply: (ticketId, text, o = {}) =>
        void zd.addAgentComment(Number(ticketId), text, {
          public: !o.private,
          attachments: o.file ? [{ file_name: o.file.name, content_type: o.file.mime, data: o.file.data }] : undefined,
        }),
      tagTicket: (ticketId, tag) => void zd.tickets.find((t) => String(t.id) === ticketId)!.tags.push(tag),
      solvedEvent(ticketId, tags) {
        // The body of the trigger docs/zendesk.md gives for "Status category changed to Solved".
        const body = JSON.stringify({ ticket_id: ticketId, event: 'solved', tags: tags.join(' ') });
        return inboundRequest(body, zd.signWebhook(body, SECRET));
      },
      solveTicket: (id) => zd.solveTicket(Number(id)),
      nativeRatings: (id) => {
        const r = zd.tickets.find((t) => String(t.id) === id)?.satisfaction_rating;
        return r ? [r.score] : [];
      },
      agentEvent(ticketId, how) {
        // The trigger body docs/zendesk.md gives: {"ticket_id":"{{ticket.id}}","tags":"{{ticket.tags}}"} (tags space-separated).
        const tags = zd.tickets.find((t) => String(t.id) === ticketId)?.tags.join(' ') ?? '';
        const body = JSON.stringify({ ticket_id: ticketId, tags });
        if (how === 'unauthenticated') return inboundRequest(body);
        return inboundRequest(body, zd.signWebhook(body, how === 'authentic' ? SECRET : 'not-the-signing-secret'));
      },
    };
  },
});
