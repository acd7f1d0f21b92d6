import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { HelpdeskInstance, InboundRequest, TicketInput } from '../../src/core/connector.ts';
import type { NormalizedMessage } from '../../src/core/message.ts';
import { definition, ZendeskOptions } from '../../connectors/helpdesks/zendesk/index.ts';
import { startFakeZendesk, type FakeZendesk } from '../fakes/zendesk-server.ts';
import { agentEvent } from '../fixtures/route.ts';
import { memoryKv } from '../../src/runtime/memory-kv.ts';
import { channelRef } from '../fixtures/channel-ref.ts';
import { silent } from '../fixtures/log.ts';
import { waitFor } from '../fixtures/wait.ts';
import { attempt, decision, deliveryFailure as failure, newMessage, ticketInput } from '../fixtures/message.ts';

/** The Zendesk connector against the fake Zendesk: real HTTP, real state, the gateway's view of it. */

const EMAIL = 'agent@example.com';
const TOKEN = 'zd-token-0123456789';
const SECRET = 'signing-secret-0123456789';

/** A new message from Azamat, with his username and language. */
const message = (text: string, o: Partial<NormalizedMessage> = {}): NormalizedMessage =>
  newMessage(text, { sender: { externalId: '777', displayName: 'Azamat', username: 'azamat_uz', locale: 'ru' }, ...o });
const input = (msg: NormalizedMessage, o: Partial<TicketInput> = {}): TicketInput => ticketInput({ message: msg, subject: 'Telegram: Azamat', ...o });

describe('Zendesk connector against the fake Zendesk', () => {
  let zd: FakeZendesk;
  let helpdesk: HelpdeskInstance;
  const channel = { id: 'telegram', kind: 'telegram' };

  const connect = (overrides: Record<string, unknown> = {}) =>
    definition.create(
      ZendeskOptions.parse({
        baseUrl: zd.url,
        email: EMAIL,
        apiToken: TOKEN,
        webhookSecret: SECRET,
        groups: { payments: 101 },
        fields: { player_id: 900001 },
        ...overrides,
      }),
      { log: silent, kv: memoryKv(), dataDir: '/nonexistent' },
    );

  beforeAll(async () => {
    zd = await startFakeZendesk({ email: EMAIL, apiToken: TOKEN });
  });
  afterAll(async () => {
    await zd.close();
  });
  beforeEach(async () => {
    zd.tickets.length = 0;
    zd.users.length = 0;
    zd.requests.length = 0;
    helpdesk = await connect();
  });

  async function newTicket(text = 'вывод не пришёл', overrides: Partial<TicketInput> = {}) {
    const msg = message(text);
    const requester = await helpdesk.upsertRequester(msg.sender, channelRef(channel), attempt());
    const ref = await helpdesk.createTicket(input(msg, overrides), requester, attempt());
    return { ref, requester, ticket: zd.tickets.find((t) => String(t.id) === ref.ticketId)! };
  }

  it('creates a ticket with the customer as requester and author, routing fields, the attachment and a private note', async () => {
    const photo = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 250, 251]);
    const { ref, ticket } = await newTicket('чек об оплате', {
      decision: decision({ priority: 'high', group: 'payments', tags: ['payments', 'Withdrawal Delay'], fields: { player_id: 'P-5512345' }, type: 'incident' }),
      files: [{ name: 'photo', mime: 'image/jpeg', data: photo }],
      notes: ['Rules fired: withdrawal'],
    });

    expect(ref.url).toBe(`${zd.url}/agent/tickets/${ticket.id}`);
    const requester = zd.users.find((u) => u.id === ticket.requester_id)!;
    expect(requester).toMatchObject({ name: 'Azamat', external_id: 'telegram:777', role: 'end-user' });
    expect(ticket).toMatchObject({
      subject: 'Telegram: Azamat',
      submitter_id: requester.id,
      priority: 'high',
      type: 'incident',
      group_id: 101,
      tags: ['payments', 'withdrawal_delay', 'switchboard', 'switchboard_messenger'],
      custom_fields: [{ id: 900001, value: 'P-5512345' }],
      external_id: 'telegram:777',
      status: 'new',
    });
    const [first, note] = ticket.comments;
    expect(first).toMatchObject({ body: 'чек об оплате', public: true, author_id: requester.id });
    expect(first!.uploads).toHaveLength(1);
    expect(first!.uploads[0]).toMatchObject({ file_name: 'photo.jpg', content_type: 'image/jpeg' });
    expect(first!.uploads[0]!.data.equals(photo)).toBe(true);
    expect(note).toMatchObject({ body: 'Rules fired: withdrawal', public: false, author_id: 1000 });
    expect(ticket.comments).toHaveLength(2);
  });

  it('appends the next message as the customer, adding tags and keeping the existing ones', async () => {
    const { ref, requester, ticket } = await newTicket('first', { decision: decision({ tags: ['payments'] }) });
    const next = await helpdesk.appendMessage(ref.ticketId, input(message('ID 5512345, карта Humo'), { decision: decision({ tags: ['kyc'] }) }), requester, attempt());
    expect(next.ticketId).toBe(ref.ticketId);
    expect(zd.tickets).toHaveLength(1);
    expect(ticket.comments.map((c) => [c.body, c.public, c.author_id])).toEqual([
      ['first', true, ticket.requester_id],
      ['ID 5512345, карта Humo', true, ticket.requester_id],
    ]);
    expect(ticket.tags).toEqual(['payments', 'switchboard', 'switchboard_messenger', 'kyc']);
  });

  it('a message for a closed ticket opens a follow-up ticket linked to it', async () => {
    const { ref, requester } = await newTicket('old problem');
    zd.closeTicket(Number(ref.ticketId));
    const next = await helpdesk.appendMessage(ref.ticketId, input(message('it happened again')), requester, attempt());
    expect(next.ticketId).not.toBe(ref.ticketId);
    const followUp = zd.tickets.find((t) => String(t.id) === next.ticketId)!;
    expect(followUp.via_followup_source_id).toBe(Number(ref.ticketId));
    expect(followUp.comments[0]).toMatchObject({ body: 'it happened again', author_id: followUp.requester_id });
    expect(zd.tickets.find((t) => String(t.id) === ref.ticketId)!.comments).toHaveLength(1);
  });

  it('a message for a deleted ticket opens a new ticket', async () => {
    const { ref, requester } = await newTicket('old problem');
    zd.deleteTicket(Number(ref.ticketId));
    const next = await helpdesk.appendMessage(ref.ticketId, input(message('hello?')), requester, attempt());
    const fresh = zd.tickets.find((t) => String(t.id) === next.ticketId)!;
    expect(fresh.via_followup_source_id).toBeNull();
    expect(fresh.comments[0]!.body).toBe('hello?');
  });

  it('create: the answer is lost after Zendesk applied it; the retry with reconcile makes no second ticket', async () => {
    const msg = message('lost answer on create');
    const requester = await helpdesk.upsertRequester(msg.sender, channelRef(channel), attempt());
    const ctx = attempt();
    zd.failNext(1, { status: 502, body: '<html>Bad Gateway</html>', applyFirst: true });
    const err = await failure(helpdesk.createTicket(input(msg), requester, ctx));
    expect(err).toMatchObject({ kind: 'retry', ambiguous: true, detail: '<html>Bad Gateway</html>' });
    expect(zd.tickets).toHaveLength(1);

    const ref = await helpdesk.createTicket(input(msg), requester, { ...ctx, attempt: 2, reconcile: true });
    expect(ref.ticketId).toBe(String(zd.tickets[0]!.id));
    expect(zd.tickets).toHaveLength(1);
  });

  it('create: a timed-out create retried without reconcile is answered from the Idempotency-Key, no second ticket', async () => {
    const slow = await connect({ timeoutMs: 200 });
    const msg = message('slow zendesk');
    const requester = await slow.upsertRequester(msg.sender, channelRef(channel), attempt());
    const ctx = attempt();
    const file = { name: 'doc.pdf', mime: 'application/pdf', data: Buffer.from('%PDF-1.4 doc') };
    zd.failNext(1, { status: 201, passThrough: true }); // the upload goes through untouched
    zd.failNext(1, { status: 201, delayMs: 600, passThrough: true }); // the create is applied, answered too late
    const timedOut = await failure(slow.createTicket(input(msg, { files: [file] }), requester, ctx));
    expect(timedOut).toMatchObject({ kind: 'retry', ambiguous: true });
    await waitFor('the create Zendesk applied after the timeout', () => zd.tickets.length === 1);

    // Same key, same body (the upload token is reused): Zendesk answers with the ticket it made.
    const ref = await slow.createTicket(input(msg, { files: [file] }), requester, { ...ctx, attempt: 3 });
    expect(ref.ticketId).toBe(String(zd.tickets[0]!.id));
    expect(zd.tickets).toHaveLength(1);
    expect(zd.tickets[0]!.comments[0]!.uploads).toHaveLength(1);
    const creates = zd.requests.filter((r) => r.method === 'POST' && r.path === '/api/v2/tickets');
    expect(creates.map((r) => r.headers['idempotency-key'])).toEqual([ctx.idempotencyKey, ctx.idempotencyKey]);
  });

  it('append: the answer is lost after Zendesk applied it; the retry with reconcile adds no second comment', async () => {
    const { ref, requester, ticket } = await newTicket('first');
    const msg = message('second, answer lost');
    const ctx = attempt();
    zd.failNext(1, { status: 500, applyFirst: true });
    const err = await failure(helpdesk.appendMessage(ref.ticketId, input(msg), requester, ctx));
    expect(err).toMatchObject({ kind: 'retry', ambiguous: true });
    expect(ticket.comments.filter((c) => c.body === 'second, answer lost')).toHaveLength(1);

    await helpdesk.appendMessage(ref.ticketId, input(msg), requester, { ...ctx, attempt: 2, reconcile: true });
    expect(ticket.comments.filter((c) => c.body === 'second, answer lost')).toHaveLength(1);
    expect(zd.requests.filter((r) => r.method === 'PUT')).toHaveLength(1);
  });

  it('append: the write failed before Zendesk applied it; the retry with reconcile writes it once', async () => {
    const { ref, requester, ticket } = await newTicket('first');
    const msg = message('second, not applied');
    const ctx = attempt();
    zd.failNext(1, { status: 503, headers: { 'retry-after': '1' } });
    await failure(helpdesk.appendMessage(ref.ticketId, input(msg), requester, ctx));
    await helpdesk.appendMessage(ref.ticketId, input(msg), requester, { ...ctx, attempt: 2, reconcile: true });
    expect(ticket.comments.filter((c) => c.body === 'second, not applied')).toHaveLength(1);
  });

  it('rate limited: 429 with a plain-text body is sorted with a wait', async () => {
    const { ref, requester } = await newTicket('first');
    zd.failNext(1, { status: 429, body: 'Too Many Requests' });
    const err = await failure(helpdesk.appendMessage(ref.ticketId, input(message('x')), requester, attempt()));
    expect(err).toMatchObject({ kind: 'rate_limited', status: 429, detail: 'Too Many Requests', retryAfterMs: 60_000 });
  });

  it('an invalid value is refused by Zendesk with RecordInvalid details, kept verbatim', async () => {
    const { ref } = await newTicket('first');
    const err = await failure(helpdesk.createTicket(input(message('x'), { followUpOf: ref.ticketId }), { id: String(zd.tickets[0]!.requester_id) }, attempt()));
    expect(err.kind).toBe('permanent');
    expect(err.status).toBe(422);
    expect(JSON.parse(err.detail!)).toMatchObject({ error: 'RecordInvalid', details: { via_followup_source_id: [{}] } });
    expect(err.message).toContain('via_followup_source_id:');
  });

  it('lists public agent replies (with attachments, across pages) and downloads an attachment', async () => {
    const { ref, ticket } = await newTicket('Не могу пройти верификацию');
    const pdf = Buffer.from('%PDF-1.4 guide');
    const { commentId } = zd.addAgentComment(ticket.id, 'Пришлите фото паспорта', {
      attachments: [{ file_name: 'guide.pdf', content_type: 'application/pdf', data: pdf }],
    });
    zd.addAgentComment(ticket.id, 'internal: check AML', { public: false });
    for (let i = 0; i < 120; i++) zd.addAgentComment(ticket.id, `reply ${i}`);

    const replies = await helpdesk.listAgentReplies(ref.ticketId);
    expect(replies).toHaveLength(121);
    expect(replies[0]).toMatchObject({ ticketId: ref.ticketId, commentId: String(commentId), text: 'Пришлите фото паспорта' });
    expect(replies.some((r) => r.text.includes('internal'))).toBe(false);
    expect(replies.some((r) => r.text === 'Не могу пройти верификацию')).toBe(false);
    expect(replies.at(-1)!.text).toBe('reply 119');

    const [attachment] = replies[0]!.attachments;
    expect(attachment).toMatchObject({ name: 'guide.pdf', mime: 'application/pdf', size: pdf.length });
    const file = await helpdesk.fetchAttachment(attachment!.url);
    expect(file).toEqual({ name: 'guide.pdf', mime: 'application/pdf', data: pdf });
    const download = zd.requests.find((r) => r.path.startsWith('/attachments/'))!;
    expect(download.headers.authorization).toMatch(/^Basic /);
  });

  it('verifies a webhook the way Zendesk signs it', async () => {
    const body = JSON.stringify({ ticket_id: '15', comment_id: '99' });
    const req = (headers: Record<string, string>): InboundRequest => ({
      method: 'POST', url: '/helpdesk/events', headers, query: {}, rawBody: Buffer.from(body), body: JSON.parse(body), files: [], ip: '127.0.0.1',
    });
    expect(await agentEvent(helpdesk, req(zd.signWebhook(body, SECRET)))).toEqual({ ok: true, ticketIds: ['15'] });
    expect(await agentEvent(helpdesk, req(zd.signWebhook(body, 'other-secret')))).toMatchObject({ ok: false, status: 401 });
  });

  it('check: the right token authenticates; a wrong one is refused without echoing it', async () => {
    expect(await helpdesk.check!()).toBe(`authenticated as Switchboard API <${EMAIL}> (admin) at ${zd.url}`);
    const wrong = await connect({ apiToken: 'wrong-token-SECRET' });
    const err = await failure(wrong.check!());
    expect(err).toMatchObject({ kind: 'permanent', status: 401 });
    expect(err.message).toContain('rejected the credentials');
    expect(`${err.message} ${err.detail}`).not.toContain('wrong-token-SECRET');
  });
});
