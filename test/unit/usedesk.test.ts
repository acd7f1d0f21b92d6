import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HelpdeskInstance, TicketInput } from '../../src/core/connector.ts';
import type { NormalizedMessage } from '../../src/core/message.ts';
import { definition, UsedeskOptions } from '../../connectors/helpdesks/usedesk/index.ts';
import { memoryKv } from '../../src/runtime/memory-kv.ts';
import { silent } from '../fixtures/log.ts';
import { attempt, decision, deliveryFailure as failure, message as baseMessage, ticketInput } from '../fixtures/message.ts';
import { inboundRequest } from '../fixtures/request.ts';
import { channelRef } from '../fixtures/channel-ref.ts';

const BASE = 'https://api.usedesk.ru';
const TOKEN = 'ud-token-SECRET-0123456789';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- captured request bodies

function usedesk(overrides: Record<string, unknown> = {}): Promise<HelpdeskInstance> {
  const options = UsedeskOptions.parse({ apiToken: TOKEN, channelId: '1001', groups: { payments: 7 }, fields: { player_id: 31, vip: 32 }, types: { complaint: 'problem' }, ...overrides });
  return Promise.resolve(definition.create(options, { log: silent, kv: memoryKv(), dataDir: '/nonexistent' }));
}

const message = (o: Partial<NormalizedMessage> = {}): NormalizedMessage => baseMessage({ id: '01JUDMSG000000000000000001', text: 'бонус не начислен', ...o });
const input = (o: Partial<TicketInput> = {}): TicketInput => ticketInput({ message: message(), subject: 'Bonus', ...o });

const api = () => nock(BASE);
const card = (o: Json = {}, comments: Json[] = [], tags: string[] = []) => ({ ticket: { id: 3409, status_id: 1, priority: 'medium', ...o }, tags, comments });

beforeAll(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending, 'every expected request was made').toEqual([]);
});

describe('options', () => {
  it('defaults to api.usedesk.ru; the international and on-premise addresses are configurable', () => {
    expect(UsedeskOptions.parse({ apiToken: 'x', channelId: 1 }).baseUrl).toBe('https://api.usedesk.ru');
    expect(UsedeskOptions.parse({ apiToken: 'x', channelId: 1, baseUrl: 'https://secure.usedesk.com/uapi' }).baseUrl).toBe('https://secure.usedesk.com/uapi');
    expect(UsedeskOptions.safeParse({ apiToken: 'x' }).error!.issues[0]!.path).toEqual(['channelId']);
  });
});

describe('requester', () => {
  it('a Telegram customer: searched by the messenger id, confirmed on the client card, else created with the messenger and a note', async () => {
    let created: Json = {};
    api().post('/clients', { api_token: TOKEN, query: '777', search_type: 'full_match' }).reply(200, [{ id: 11, name: 'Someone', phone: '777' }]);
    api().post('/client', { api_token: TOKEN, client_id: 11 }).reply(200, { id: 11, messengers: [{ identity: '777', type: 'whatsapp' }] });
    api().post('/create/client', (b: Json) => ((created = b), true)).reply(200, { client_id: 12, status: true });
    const ud = await usedesk();
    expect(await ud.upsertRequester({ externalId: '777', displayName: 'Azamat' }, channelRef({ id: 'telegram', kind: 'telegram' }), attempt())).toEqual({ id: '12' });
    expect(created).toEqual({ api_token: TOKEN, name: 'Azamat', messengers: [{ identity: '777', type: 'telegram' }], note: 'Switchboard: telegram:777' });
  });

  it('keeps the messenger id of any messenger channel on a network Usedesk knows, whatever its kind', async () => {
    let created: Json = {};
    api().post('/clients', { api_token: TOKEN, query: '555', search_type: 'full_match' }).reply(200, []);
    api().post('/create/client', (b: Json) => ((created = b), true)).reply(200, { client_id: 13 });
    const ud = await usedesk();
    await ud.upsertRequester({ externalId: '555', displayName: 'Dilnoza' }, { id: 'viber', kind: 'some-viber-bridge', medium: 'messenger', network: 'viber' }, attempt());
    expect(created).toMatchObject({ messengers: [{ identity: '555', type: 'viber' }] });
  });

  it('an email or phone is searched first; a phone is sent as digits', async () => {
    api().post('/clients', { api_token: TOKEN, query: 'p@example.com', search_type: 'full_match' }).reply(200, [{ id: 21, emails: 'x@example.com, p@example.com' }]);
    const ud = await usedesk();
    expect(await ud.upsertRequester({ externalId: 'p@example.com', email: 'P@example.com' }, channelRef({ id: 'contact', kind: 'webform' }), attempt())).toEqual({ id: '21' });
    let created: Json = {};
    api().post('/clients', { api_token: TOKEN, query: '998901234567', search_type: 'full_match' }).reply(200, []);
    api().post('/create/client', (b: Json) => ((created = b), true)).reply(200, { client_id: 22 });
    await ud.upsertRequester({ externalId: '+998 90 123-45-67', phone: '+998 90 123-45-67' }, channelRef({ id: 'phone', kind: 'twilio-voice' }), attempt());
    expect(created).toMatchObject({ phone: '998901234567', phone_type: 'mobile' });
  });
});

describe('createTicket', () => {
  it('sends the exact fields: api_token, client, channel, from=client, additional_id, priority and type in Usedesk’s words, tags, group, custom fields', async () => {
    let body: Json = {};
    api().post('/create/ticket', (b: Json) => ((body = b), true)).reply(200, { status: 'success', ticket_id: 3409 });
    const ud = await usedesk();
    const ref = await ud.createTicket(input({ decision: decision({ priority: 'high', type: 'complaint', group: 'payments', tags: ['bonus', 'vip, gold'], fields: { player_id: 'P-1', vip: true } }) }), { id: '12' }, attempt());
    expect(ref).toEqual({ ticketId: '3409', requesterId: '12', url: 'https://secure.usedesk.ru/tickets/3409' });
    expect(body).toEqual({
      api_token: TOKEN,
      subject: 'Bonus',
      message: '<p>бонус не начислен</p><p><small>via telegram · ref 01JUDMSG000000000000000001</small></p>',
      client_id: 12,
      channel_id: 1001,
      from: 'client',
      additional_id: 'switchboard:01JUDMSG000000000000000001',
      tag: 'bonus, vip gold',
      priority: 'urgent',
      type: 'problem',
      group_id: 7,
      field_id: '31,32',
      field_value: 'P-1,true',
    });
  });

  it('with files: multipart with files[] and the api_token as a field', async () => {
    let raw = '';
    api().post('/create/ticket', (b: string) => ((raw = b), true)).reply(200, { status: 'success', ticket_id: 1 });
    const ud = await usedesk();
    await ud.createTicket(input({ files: [{ name: 'receipt.png', mime: 'image/png', data: Buffer.from('png') }] }), { id: '12' }, attempt());
    expect(raw).toMatch(/name="files\[\]"; filename="receipt\.png"/);
    expect(raw).toMatch(new RegExp(`name="api_token"\\r\\n\\r\\n${TOKEN}`));
  });

  it('a type Usedesk does not have, or a comma in one of several field values, is refused before anything is sent', async () => {
    const ud = await usedesk();
    const type = await failure(ud.createTicket(input({ decision: decision({ type: 'refund' }) }), { id: '12' }, attempt()));
    expect(type.message).toContain('"refund" is not a Usedesk type (question, task, problem, incident); map it under helpdesk.types.refund');
    const comma = await failure(ud.createTicket(input({ decision: decision({ fields: { player_id: 'a,b', vip: 'x' } }) }), { id: '12' }, attempt()));
    expect(comma.message).toContain('field "player_id"');
  });

  it('reconcile: the client’s ticket with this message’s additional_id is returned; nothing is created', async () => {
    api().post('/client', { api_token: TOKEN, client_id: 12 }).reply(200, { id: 12, tickets: [3300, 3409] });
    api().post('/ticket', { api_token: TOKEN, ticket_id: 3409 }).reply(200, card({ additional_id: 'switchboard:01JUDMSG000000000000000001' }));
    const ud = await usedesk();
    expect((await ud.createTicket(input(), { id: '12' }, attempt({ reconcile: true, attempt: 2 }))).ticketId).toBe('3409');
  });
});

describe('errors: an `error` in a 200 answer is an error, Usedesk’s words kept', () => {
  const create = async (status: number, body: string) => {
    api().post('/create/ticket').reply(status, body, { 'content-type': 'application/json' });
    return failure((await usedesk()).createTicket(input(), { id: '12' }, attempt()));
  };

  it('a refusal is permanent with the body verbatim', async () => {
    const body = '{"error":"The selected priority is invalid","code":422}';
    expect(await create(200, body)).toMatchObject({ kind: 'permanent', status: 422, detail: body, message: expect.stringContaining('The selected priority is invalid') });
  });

  it('a wrong token is permanent, and the token appears nowhere', async () => {
    const err = await create(200, '{"error":"Unauthorized: wrong api_token","code":111}');
    expect(err.message).toContain('refused the api_token');
    expect(`${err.message} ${err.detail}`).not.toContain(TOKEN);
  });

  it('"too many requests" waits; a server error in the body is retried and ambiguous; "status": false is refused', async () => {
    expect(await create(200, '{"error":"Too many requests"}')).toMatchObject({ kind: 'rate_limited', retryAfterMs: 60_000 });
    expect(await create(200, '{"error":"Internal error","code":500}')).toMatchObject({ kind: 'retry', ambiguous: true });
    expect(await create(200, '{"status":false}')).toMatchObject({ kind: 'permanent' });
    expect(await create(429, '')).toMatchObject({ kind: 'rate_limited' });
  });
});

describe('appendMessage', () => {
  it('reads the ticket, adds a public client comment, then merges tags and raises priority', async () => {
    let comment: Json = {};
    let update: Json = {};
    api().post('/ticket', { api_token: TOKEN, ticket_id: 3409 }).reply(200, card({ priority: 'medium' }, [], ['bonus']));
    api().post('/create/comment', (b: Json) => ((comment = b), true)).reply(200, { status: 'success', comment_id: 5 });
    api().post('/update/ticket', (b: Json) => ((update = b), true)).reply(200, { status: 'success' });
    const ud = await usedesk();
    await ud.appendMessage('3409', input({ decision: decision({ priority: 'urgent', tags: ['Bonus', 'vip'] }) }), { id: '12' }, attempt());
    expect(comment).toMatchObject({ ticket_id: 3409, type: 'public', from: 'client' });
    expect(update).toEqual({ api_token: TOKEN, ticket_id: 3409, tag: 'bonus, vip', priority: 'extreme' });
  });

  it('a closed ticket gets a new ticket noting which one it continues; a deleted or merged one, or "Ticket not found", a plain new one', async () => {
    let note: Json = {};
    api().post('/ticket').reply(200, card({ status_id: 3 }));
    api().post('/create/ticket').reply(200, { ticket_id: 4000 });
    api().post('/create/comment', (b: Json) => ((note = b), true)).reply(200, { comment_id: 1 });
    api().post('/ticket').reply(200, card({ status_id: 10 }));
    api().post('/create/ticket').reply(200, { ticket_id: 4001 });
    api().post('/ticket').reply(200, { error: 'Ticket not found', code: 404 });
    api().post('/create/ticket').reply(200, { ticket_id: 4002 });
    const ud = await usedesk();
    expect((await ud.appendMessage('3409', input(), { id: '12' }, attempt())).ticketId).toBe('4000');
    expect(note).toMatchObject({ type: 'private' });
    expect(note.message).toContain('continues closed ticket #3409');
    expect((await ud.appendMessage('3410', input(), { id: '12' }, attempt())).ticketId).toBe('4001');
    expect((await ud.appendMessage('3411', input(), { id: '12' }, attempt())).ticketId).toBe('4002');
  });
});

describe('agent-reply webhook', () => {
  const comment = (o: Json = {}) => ({ id: 5, ticket_id: 3409, from: 'user', type: 'public', message: 'hi', ...o });
  const verify = async (body: Json, o: Record<string, unknown> = {}) => (await usedesk(o)).verifyAgentEvent(inboundRequest(JSON.stringify(body)));

  it('an agent’s public comment with the channel token as secret asks for a read of its ticket', async () => {
    expect(await verify({ secret: TOKEN, comment: comment() })).toEqual({ ok: true, ticketIds: ['3409'] });
    expect(await verify({ secret: 'own-secret', comment: comment() }, { webhookSecret: 'own-secret' })).toEqual({ ok: true, ticketIds: ['3409'] });
  });

  it('private notes, the client’s own comments and other events are acknowledged and ignored', async () => {
    expect(await verify({ secret: TOKEN, comment: comment({ type: 'private' }) })).toEqual({ ok: true, ticketIds: [] });
    expect(await verify({ secret: TOKEN, comment: comment({ from: 'client' }) })).toEqual({ ok: true, ticketIds: [] });
    expect(await verify({ secret: TOKEN, ticket: { id: 3409 } })).toEqual({ ok: true, ticketIds: [] });
  });

  it('a status change (the "ticket change" webhook) asks for no read now, but the next follow-up reads its ticket first', async () => {
    const ud = await usedesk();
    const routed = decision({ priority: 'normal', tags: ['bonus'] });
    const followUp = input({ decision: routed, lastSet: { priority: 'normal', tags: ['bonus'] } });
    api().post('/create/ticket').reply(200, { ticket_id: 3409 });
    await ud.createTicket(input({ decision: routed }), { id: '12' }, attempt());
    // Known open, nothing new to set: the comment is the only request.
    api().post('/create/comment').reply(200, { status: 'success', comment_id: 6 });
    await ud.appendMessage('3409', followUp, { id: '12' }, attempt());
    expect(await ud.verifyAgentEvent(inboundRequest(JSON.stringify({ secret: TOKEN, trigger: { ticket_id: 3409, new_status: 3 } })))).toMatchObject({ ok: true, ticketIds: [] });
    // Told of a change: read first, and the closed ticket gets a new one.
    api().post('/ticket').reply(200, card({ status_id: 3 }));
    api().post('/create/ticket').reply(200, { ticket_id: 4000 });
    api().post('/create/comment').reply(200, { comment_id: 1 });
    expect((await ud.appendMessage('3409', followUp, { id: '12' }, attempt())).ticketId).toBe('4000');
    expect(await verify({ secret: TOKEN, trigger: { ticket_id: 'x' } })).toMatchObject({ ok: false, status: 400, error: 'trigger.ticket_id must be a ticket number' });
  });

  it('a form-encoded webhook is read the same way', async () => {
    const ud = await usedesk();
    const form = `secret=${TOKEN}&comment[ticket_id]=3409&comment[from]=user&comment[type]=public`;
    expect(await ud.verifyAgentEvent(inboundRequest(form, {}, 'application/x-www-form-urlencoded'))).toEqual({ ok: true, ticketIds: ['3409'] });
  });

  it('a wrong shape is a 400 naming the field, and no key of a form can reach a prototype', async () => {
    expect(await verify({ secret: TOKEN, comment: [] })).toEqual({ ok: false, status: 400, error: 'comment must be an object' });
    expect(await verify({ secret: TOKEN, comment: comment({ ticket_id: [1] }) })).toMatchObject({ ok: false, status: 400, error: 'comment.ticket_id must be a ticket number' });
    expect(await verify({ secret: TOKEN, chat_id: 'x' })).toMatchObject({ ok: false, status: 400, error: 'chat_id must be a number' });
    const ud = await usedesk();
    // The HTTP layer refuses such keys first; the nesting refuses them again, before the secret is read.
    const poisoned = await ud.verifyAgentEvent(inboundRequest('__proto__[polluted]=1&comment[ticket_id]=1', {}, 'application/x-www-form-urlencoded'));
    expect(poisoned).toMatchObject({ ok: false, status: 400 });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('a wrong or missing secret is refused without echoing the token', async () => {
    const wrong = await verify({ secret: 'guess', comment: comment() });
    expect(wrong).toMatchObject({ ok: false, status: 401 });
    expect(JSON.stringify(wrong)).not.toContain(TOKEN);
    expect(await verify({ comment: comment() })).toMatchObject({ ok: false, status: 401, error: 'missing secret' });
  });
});

describe('listAgentReplies', () => {
  it('each reply carries the ticket\'s tags from the same read (a reply_via_ tag picks the channel), with no other request', async () => {
    api().post('/ticket').reply(200, card({}, [{ id: 5, from: 'user', type: 'public', message: 'ok' }], ['vip', 'reply_via_support_mail']));
    const replies = await (await usedesk()).listAgentReplies('3409');
    expect(replies.map((r) => r.ticketTags)).toEqual([['vip', 'reply_via_support_mail']]);
  });

  it('agent public comments as text, files as links either way, times only when they carry a zone', async () => {
    api().post('/ticket').reply(200, card({}, [
      { id: 2, from: 'user', type: 'public', message: '<p>Бонус начислен.<br>Проверьте баланс.</p>', files: ['https://files.usedesk.ru/a/b/guide.pdf'], published_at: '2025-01-01 10:00:00' },
      { id: 1, from: 'client', type: 'public', message: 'hi' },
      { id: 3, from: 'user', type: 'private', message: 'internal' },
      { id: 4, from: 'user', type: 'public', message: 'ok', files: [{ file: 'https://files.usedesk.ru/x.png', name: 'screen.png' }], published_at: '2025-01-01T10:00:00+03:00' },
    ]));
    const replies = await (await usedesk()).listAgentReplies('3409');
    expect(replies.map((r) => [r.commentId, r.text])).toEqual([['2', 'Бонус начислен.\nПроверьте баланс.'], ['4', 'ok']]);
    expect(replies[0]!.attachments).toEqual([{ name: 'guide.pdf', mime: 'application/octet-stream', url: 'https://files.usedesk.ru/a/b/guide.pdf' }]);
    expect(replies[1]!.attachments[0]!.name).toBe('screen.png');
    expect(replies.map((r) => r.createdAt)).toEqual([undefined, '2025-01-01T10:00:00+03:00']);
  });
});
