import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HelpdeskInstance, InboundRequest, Medium, RateLimiter, RateSignal, TicketInput } from '../../src/core/connector.ts';
import type { NormalizedMessage } from '../../src/core/message.ts';
import { definition, FreshdeskOptions, freshdeskEndpointLimits } from '../../connectors/helpdesks/freshdesk/index.ts';
import { memoryKv } from '../../src/runtime/memory-kv.ts';
import { silent } from '../fixtures/log.ts';
import { attempt, decision, deliveryFailure as failure, message as baseMessage, ticketInput } from '../fixtures/message.ts';
import { inboundRequest } from '../fixtures/request.ts';
import { agentEvent } from '../fixtures/route.ts';
import { channelRef } from '../fixtures/channel-ref.ts';

const BASE = 'https://acme.freshdesk.com';
const KEY = 'fd-key-SECRET-0123456789';
const SECRET = 'fd-webhook-SECRET-0123456789';
const BASIC = `Basic ${Buffer.from(`${KEY}:X`).toString('base64')}`;
const TYPES = [{ id: 1, name: 'ticket_type', type: 'default_ticket_type', choices: ['Question', 'Incident', 'Problem', 'Refund'] }];

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- captured request bodies

function recorder(): RateLimiter & { endpoints: (string | undefined)[]; signals: RateSignal[] } {
  const r = {
    endpoints: [] as (string | undefined)[],
    signals: [] as RateSignal[],
    async acquire(_cost?: number, endpoint?: string) {
      r.endpoints.push(endpoint);
    },
    observe(s: RateSignal) {
      r.signals.push(s);
    },
  };
  return r;
}

function freshdesk(overrides: Record<string, unknown> = {}, limiter?: RateLimiter): Promise<HelpdeskInstance> {
  const options = FreshdeskOptions.parse({
    baseUrl: `${BASE}/`,
    apiKey: KEY,
    webhookSecret: SECRET,
    groups: { payments: 101 },
    fields: { player_id: 'player_id', vip: 'cf_vip' },
    types: { complaint: 'Problem' },
    ...overrides,
  });
  return Promise.resolve(definition.create(options, { log: silent, kv: memoryKv(), dataDir: '/nonexistent', limiter }));
}

/** Azamat's message with a character that must be escaped in HTML. */
const message = (o: Partial<NormalizedMessage> = {}): NormalizedMessage => baseMessage({ id: '01JFDMSG000000000000000001', text: 'вывод <не> пришёл', ...o });
const input = (o: Partial<TicketInput> = {}): TicketInput => ticketInput({ message: message(), ...o });

const api = () => nock(BASE, { reqheaders: { authorization: BASIC } });

beforeAll(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending, 'every expected request was made').toEqual([]);
});

describe('options', () => {
  it('names what is missing; a short webhook secret is refused', () => {
    const r = FreshdeskOptions.safeParse({ baseUrl: BASE });
    expect(r.error!.issues.map((i) => i.path.join('.'))).toEqual(['apiKey']);
    expect(FreshdeskOptions.safeParse({ baseUrl: BASE, apiKey: 'k', webhookSecret: 'short' }).error!.issues[0]!.path).toEqual(['webhookSecret']);
    expect(FreshdeskOptions.safeParse({ baseUrl: BASE, apiKey: 'k', sources: { telegram: 'fax' } }).success).toBe(false);
  });

  it('endpoint caps follow the plan: 40% for ticket writes, lists by plan', () => {
    expect(freshdeskEndpointLimits(200)).toEqual({ 'tickets:create': 80, 'tickets:update': 80, 'tickets:list': 20, 'contacts:list': 20 });
    expect(freshdeskEndpointLimits(400)).toMatchObject({ 'tickets:create': 160, 'tickets:list': 100 });
    expect(freshdeskEndpointLimits(700)).toMatchObject({ 'tickets:create': 280, 'tickets:list': 200 });
  });
});

describe('requester', () => {
  it('with an email: created at once (one request); the contact that already has the email answers the duplicate with its id', async () => {
    let created: Json = {};
    api().post('/api/v2/contacts', (b: Json) => ((created = b), true)).reply(409, { description: 'Validation failed', errors: [{ field: 'email', message: 'It should be a unique value', code: 'duplicate_value', additional_info: { user_id: 55 } }] });
    const fd = await freshdesk();
    expect(await fd.upsertRequester({ externalId: 'p@example.com', email: 'P@example.com' }, channelRef({ id: 'contact', kind: 'webform' }), attempt())).toEqual({ id: '55' });
    expect(created).toEqual({ name: 'Webform user p@example.com', email: 'p@example.com' });
  });

  it('without an email: by unique_external_id, then mobile, then phone; created with name, unique_external_id and mobile', async () => {
    let created: Json = {};
    api().get('/api/v2/contacts').query({ unique_external_id: 'wa:+998901234567' }).reply(200, []);
    api().get('/api/v2/contacts').query({ mobile: '+998901234567' }).reply(200, []);
    api().get('/api/v2/contacts').query({ phone: '+998901234567' }).reply(200, []);
    api().post('/api/v2/contacts', (b: Json) => ((created = b), true)).reply(201, { id: 77 });
    const fd = await freshdesk();
    const ref = await fd.upsertRequester({ externalId: '+998901234567', phone: '+998901234567' }, channelRef({ id: 'wa', kind: 'whatsapp-cloud' }), attempt());
    expect(ref).toEqual({ id: '77' });
    expect(created).toEqual({ name: 'Whatsapp-cloud user +998901234567', unique_external_id: 'wa:+998901234567', mobile: '+998901234567' });
  });

  it('without an email or phone: created at once by unique_external_id; a duplicate (409 duplicate_value) is that contact', async () => {
    api().post('/api/v2/contacts').reply(409, { description: 'Validation failed', errors: [{ field: 'unique_external_id', message: 'It should be a unique value', code: 'duplicate_value', additional_info: { user_id: 91 } }] });
    const fd = await freshdesk();
    expect(await fd.upsertRequester({ externalId: '777' }, channelRef({ id: 'telegram', kind: 'telegram' }), attempt())).toEqual({ id: '91' });
  });
});

describe('createTicket', () => {
  it('sends the exact JSON: requester, HTML description with its marker, status, source, priority, the account’s spelling of the type, group, cf_ fields, tags; then one private note', async () => {
    let ticket: Json = {};
    let note: Json = {};
    const limiter = recorder();
    api().get('/api/v2/ticket_fields').query({ type: 'default_ticket_type' }).reply(200, TYPES);
    api().post('/api/v2/tickets', (b: Json) => ((ticket = b), true)).reply(201, { id: 501 }, { 'x-ratelimit-total': '400', 'x-ratelimit-remaining': '398' });
    api().post('/api/v2/tickets/501/notes', (b: Json) => ((note = b), true)).reply(201, { id: 9001 });
    const fd = await freshdesk({}, limiter);
    const ref = await fd.createTicket(
      input({
        decision: decision({ priority: 'urgent', type: 'incident', group: 'payments', tags: ['payments', 'Payments', 'vip client'], fields: { player_id: 'P-1', vip: true } }),
        notes: ['Switchboard rules fired: withdrawal.'],
      }),
      { id: '55' },
      attempt(),
    );
    expect(ref).toEqual({ ticketId: '501', requesterId: '55', url: `${BASE}/a/tickets/501` });
    expect(ticket).toEqual({
      subject: 'Withdrawal',
      description: '<p>вывод &lt;не&gt; пришёл</p><p><small>via telegram · ref 01JFDMSG000000000000000001</small></p>',
      requester_id: 55,
      status: 2,
      source: 7,
      priority: 4,
      type: 'Incident',
      group_id: 101,
      tags: ['payments', 'vip client'],
      custom_fields: { cf_player_id: 'P-1', cf_vip: true },
    });
    expect(note).toMatchObject({ private: true });
    expect(note.body).toContain('Switchboard rules fired: withdrawal.');
    expect(note.body).toContain('ref 01JFDMSG000000000000000001:notes');
    expect(limiter.endpoints).toEqual([undefined, 'tickets:create', undefined]);
    expect(limiter.signals[1]).toMatchObject({ limit: 400, remaining: 398 });
  });

  it('the source follows the channel: a form is portal, a call is phone; `sources` overrides', async () => {
    const sources: number[] = [];
    api().post('/api/v2/tickets', (b: Json) => (sources.push(b.source), true)).times(3).reply(201, { id: 1 });
    const fd = await freshdesk({ sources: { 'vip-line': 'email' } });
    const on = (id: string, kind: string) => input({ message: message({ channel: { id, kind } }) });
    await fd.createTicket(on('contact', 'webform'), { id: '5' }, attempt());
    await fd.createTicket(on('phone', 'twilio-voice'), { id: '5' }, attempt());
    await fd.createTicket(on('vip-line', 'twilio-voice'), { id: '5' }, attempt());
    expect(sources).toEqual([2, 3, 1]);
  });

  it('maps a channel it has never heard of by the medium the channel declares, not by its kind', async () => {
    const sources: number[] = [];
    api().post('/api/v2/tickets', (b: Json) => (sources.push(b.source), true)).times(3).reply(201, { id: 1 });
    const fd = await freshdesk();
    const newKind = (medium: Medium) => input({ channel: { id: 'x', kind: 'brand-new-kind', medium }, message: message({ channel: { id: 'x', kind: 'brand-new-kind' } }) });
    await fd.createTicket(newKind('phone'), { id: '5' }, attempt());
    await fd.createTicket(newKind('form'), { id: '5' }, attempt());
    await fd.createTicket(newKind('messenger'), { id: '5' }, attempt());
    expect(sources).toEqual([3, 2, 7]);
  });

  it('with files: multipart with attachments[], tags[] and custom_fields[…]; files over 20 MB are named in the note instead', async () => {
    let raw = '';
    let note: Json = {};
    api().post('/api/v2/tickets', (b: string) => ((raw = b), true)).reply(201, { id: 502 });
    api().post('/api/v2/tickets/502/notes', (b: Json) => ((note = b), true)).reply(201, { id: 1 });
    const fd = await freshdesk({ maxAttachmentBytes: 1000 });
    await fd.createTicket(
      input({
        decision: decision({ tags: ['kyc'], fields: { player_id: 'P-9' } }),
        files: [
          { name: 'passport.jpg', mime: 'image/jpeg', data: Buffer.alloc(600, 1) },
          { name: 'video.mp4', mime: 'video/mp4', data: Buffer.alloc(600, 2) },
        ],
      }),
      { id: '5' },
      attempt(),
    );
    expect(raw).toMatch(/name="attachments\[\]"; filename="passport\.jpg"/);
    expect(raw).not.toContain('video.mp4');
    expect(raw).toMatch(/name="tags\[\]"\r\n\r\nkyc/);
    expect(raw).toMatch(/name="custom_fields\[cf_player_id\]"\r\n\r\nP-9/);
    expect(note.body).toContain('Attachment &quot;video.mp4&quot;');
  });

  it('an unknown type is a permanent error listing the account’s types; nothing is created', async () => {
    api().get('/api/v2/ticket_fields').query(true).reply(200, TYPES);
    const fd = await freshdesk();
    const err = await failure(fd.createTicket(input({ decision: decision({ type: 'Complaint about bonus' }) }), { id: '5' }, attempt()));
    expect(err.kind).toBe('permanent');
    expect(err.message).toContain('"Complaint about bonus" is not one of this Freshdesk\'s types (Question, Incident, Problem, Refund)');
    expect(err.message).toContain('helpdesk.types.Complaint about bonus');
  });

  it('reconcile: the requester’s ticket whose description carries the marker is returned; nothing is created', async () => {
    api().get('/api/v2/tickets').query({ requester_id: '55', order_by: 'created_at', order_type: 'desc', per_page: '30' }).reply(200, [{ id: 600, subject: 'Withdrawal' }, { id: 599, subject: 'Other' }]);
    api().get('/api/v2/tickets/600').reply(200, { id: 600, description: '<p>x</p><p><small>ref 01JFDMSG000000000000000001</small></p>' });
    const fd = await freshdesk();
    const ref = await fd.createTicket(input(), { id: '55' }, attempt({ reconcile: true, attempt: 2 }));
    expect(ref.ticketId).toBe('600');
  });

  it('the marker of a message is not mistaken for the marker of its notes', async () => {
    api().get('/api/v2/tickets').query(true).reply(200, [{ id: 600, subject: 'Withdrawal' }]);
    api().get('/api/v2/tickets/600').reply(200, { id: 600, description: '<p><small>ref 01JFDMSG000000000000000001:notes</small></p>' });
    api().post('/api/v2/tickets').reply(201, { id: 601 });
    const fd = await freshdesk();
    expect((await fd.createTicket(input(), { id: '55' }, attempt({ reconcile: true, attempt: 2 }))).ticketId).toBe('601');
  });
});

describe('appendMessage', () => {
  it('reads the ticket, adds an incoming public note by the requester, then adds tags, raises priority and reopens a resolved ticket in one PUT', async () => {
    let note: Json = {};
    let update: Json = {};
    api().get('/api/v2/tickets/501').reply(200, { id: 501, status: 4, priority: 2, tags: ['payments'] });
    api().post('/api/v2/tickets/501/notes', (b: Json) => ((note = b), true)).reply(201, { id: 9002 });
    api().put('/api/v2/tickets/501', (b: Json) => ((update = b), true)).reply(200, { id: 501 });
    const fd = await freshdesk();
    const ref = await fd.appendMessage('501', input({ decision: decision({ priority: 'high', tags: ['PAYMENTS', 'kyc'] }) }), { id: '55' }, attempt());
    expect(ref.ticketId).toBe('501');
    expect(note).toEqual({ body: '<p>вывод &lt;не&gt; пришёл</p><p><small>via telegram · ref 01JFDMSG000000000000000001</small></p>', private: false, incoming: true, user_id: 55 });
    expect(update).toEqual({ tags: ['payments', 'kyc'], priority: 3, status: 2 });
  });

  it('never lowers a priority and does not PUT when nothing changes', async () => {
    api().get('/api/v2/tickets/501').reply(200, { id: 501, status: 2, priority: 4, tags: ['payments'] });
    api().post('/api/v2/tickets/501/notes').reply(201, { id: 9003 });
    const fd = await freshdesk();
    await fd.appendMessage('501', input({ decision: decision({ priority: 'low', tags: ['payments'] }) }), { id: '55' }, attempt());
  });

  it('a closed ticket gets a new ticket that says which one it continues; a deleted (404) one a plain new ticket', async () => {
    let followUpNote: Json = {};
    api().get('/api/v2/tickets/501').reply(200, { id: 501, status: 5 });
    api().post('/api/v2/tickets').reply(201, { id: 700 });
    api().post('/api/v2/tickets/700/notes', (b: Json) => ((followUpNote = b), true)).reply(201, { id: 1 });
    api().get('/api/v2/tickets/502').reply(404, { description: 'Resource not found' });
    api().post('/api/v2/tickets').reply(201, { id: 701 });
    const fd = await freshdesk();
    expect((await fd.appendMessage('501', input(), { id: '55' }, attempt())).ticketId).toBe('700');
    expect(followUpNote.body).toContain('continues closed ticket #501');
    expect((await fd.appendMessage('502', input(), { id: '55' }, attempt())).ticketId).toBe('701');
  });

  it('a requester Freshdesk no longer accepts as author (merged contact): the message still goes in, without user_id', async () => {
    const notes: Json[] = [];
    api().get('/api/v2/tickets/501').reply(200, { id: 501, status: 2 });
    api().post('/api/v2/tickets/501/notes', (b: Json) => (notes.push(b), true)).reply(400, { description: 'Validation failed', errors: [{ field: 'user_id', message: 'There is no contact or agent matching the given user_id', code: 'invalid_value' }] });
    api().post('/api/v2/tickets/501/notes', (b: Json) => (notes.push(b), true)).reply(201, { id: 1 });
    const fd = await freshdesk();
    await fd.appendMessage('501', input(), { id: '55' }, attempt());
    expect(notes.map((n) => n.user_id)).toEqual([55, undefined]);
    expect(notes[1]).toMatchObject({ incoming: true, private: false });
  });
});

describe('errors are sorted, and Freshdesk’s own words kept', () => {
  const oneCall = async (status: number, body: unknown, headers: Record<string, string> = {}) => {
    api().get('/api/v2/agents/me').reply(status, body as Json, headers);
    return failure((await freshdesk()).check!());
  };

  it('400 Validation failed: permanent, every field named, the body verbatim', async () => {
    const body = { description: 'Validation failed', errors: [{ field: 'priority', message: "It should be one of these values: '1,2,3,4'", code: 'invalid_value' }] };
    const err = await oneCall(400, body);
    expect(err).toMatchObject({ kind: 'permanent', status: 400, detail: JSON.stringify(body) });
    expect(err.message).toContain("priority: It should be one of these values: '1,2,3,4' (invalid_value)");
  });

  it('401: permanent, the key appears nowhere', async () => {
    const err = await oneCall(401, { code: 'invalid_credentials', message: 'You have to be logged in to perform this action.' });
    expect(err.kind).toBe('permanent');
    expect(err.message).toContain('rejected the API key');
    expect(`${err.message} ${err.detail}`).not.toContain(KEY);
  });

  it('an empty 404 (a wrong subdomain) says to check baseUrl', async () => {
    const err = await oneCall(404, '');
    expect(err.message).toContain('check helpdesk.baseUrl');
  });

  it('429 waits for Retry-After; 503 is retried and ambiguous', async () => {
    expect(await oneCall(429, '', { 'retry-after': '30' })).toMatchObject({ kind: 'rate_limited', retryAfterMs: 30_000 });
    expect(await oneCall(503, 'maintenance')).toMatchObject({ kind: 'retry', ambiguous: true, detail: 'maintenance' });
  });
});

describe('agent-reply webhook (automation rule)', () => {
  const body = '{"ticket_id":"501"}';
  const verify = async (req: InboundRequest, o: Record<string, unknown> = {}) => agentEvent(await freshdesk(o), req);

  it('accepts the shared secret in the header, or as the basic-auth password', async () => {
    expect(await verify(inboundRequest(body, { 'X-Switchboard-Secret': SECRET }))).toEqual({ ok: true, ticketIds: ['501'] });
    const basic = `Basic ${Buffer.from(`switchboard:${SECRET}`).toString('base64')}`;
    expect(await verify(inboundRequest(body, { authorization: basic }))).toEqual({ ok: true, ticketIds: ['501'] });
    expect(await verify(inboundRequest('ticket_id=501', { 'x-switchboard-secret': SECRET }, 'application/x-www-form-urlencoded'))).toEqual({ ok: true, ticketIds: ['501'] });
    expect(await verify(inboundRequest('{"freshdesk_webhook":{"ticket_id":502}}', { 'x-switchboard-secret': SECRET }))).toEqual({ ok: true, ticketIds: ['502'] });
  });

  it('refuses a wrong or missing secret without echoing it, and everything when no secret is configured', async () => {
    const wrong = await verify(inboundRequest(body, { 'x-switchboard-secret': 'guess' }));
    expect(wrong).toMatchObject({ ok: false, status: 401 });
    expect(JSON.stringify(wrong)).not.toContain(SECRET);
    const badBasic = `Basic ${Buffer.from(`switchboard:guess`).toString('base64')}`;
    expect(await verify(inboundRequest(body, { authorization: badBasic }))).toMatchObject({ ok: false, status: 401 });
    expect(await verify(inboundRequest(body))).toMatchObject({ ok: false, status: 401, error: expect.stringContaining('x-switchboard-secret') });
    expect(await verify(inboundRequest(body, { 'x-switchboard-secret': SECRET }), { webhookSecret: undefined })).toMatchObject({ ok: false, status: 401, error: expect.stringContaining('not enabled') });
  });

  it('a body without a ticket number is a 400 that gives the body to paste', async () => {
    const res = await verify(inboundRequest('{"ticket":"x"}', { 'x-switchboard-secret': SECRET }));
    expect(res).toMatchObject({ ok: false, status: 400 });
    expect(res.ok ? '' : res.error).toContain('{"ticket_id": "{{ticket.id}}", "tags": "{{ticket.tags}}"}');
  });

  it('carries the ticket\'s tags and a "reply via" field from the rule\'s body, so no read is needed for them', async () => {
    const tagged = await verify(inboundRequest('{"ticket_id": "503", "tags": "vip, reply_via_whatsapp"}', { 'x-switchboard-secret': SECRET }));
    expect(tagged).toEqual({ ok: true, ticketIds: ['503'], tags: ['vip', 'reply_via_whatsapp'] });
    const field = await verify(inboundRequest('{"ticket_id": "504", "tags": "", "reply_via": "support-mail"}', { 'x-switchboard-secret': SECRET }));
    expect(field).toEqual({ ok: true, ticketIds: ['504'], tags: ['reply_via_support-mail'] });
    // Tags that are not text are a 400 naming them; a poisoned key changes nothing.
    const poisoned = await verify(inboundRequest('{"ticket_id": "505", "tags": {"__proto__": {"x": 1}}}', { 'x-switchboard-secret': SECRET }));
    expect(poisoned).toMatchObject({ ok: false, status: 400, error: expect.stringMatching(/^tags must be text/) });
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
  });
});

describe('listAgentReplies', () => {
  it('follows the Link header across pages; keeps public answers by agents only', async () => {
    const reply = (id: number, o: Json = {}) => ({ id, body: `<p>r${id}</p>`, body_text: `r${id}`, private: false, incoming: false, attachments: [], created_at: '2025-01-01T10:00:00Z', ...o });
    api().get('/api/v2/tickets/501/conversations').query({ per_page: '100' }).reply(200, [reply(1), reply(2, { private: true }), reply(3, { incoming: true })], { link: `<${BASE}/api/v2/tickets/501/conversations?page=2&per_page=100>; rel="next"` });
    api().get('/api/v2/tickets/501/conversations').query({ page: '2', per_page: '100' }).reply(200, [reply(4, { attachments: [{ name: 'a.pdf', content_type: 'application/pdf', size: 3, attachment_url: 'https://s3.example.com/a.pdf?sig=1' }] })]);
    const replies = await (await freshdesk()).listAgentReplies('501');
    expect(replies.map((r) => [r.commentId, r.text])).toEqual([['1', 'r1'], ['4', 'r4']]);
    expect(replies[1]!.attachments).toEqual([{ name: 'a.pdf', mime: 'application/pdf', url: 'https://s3.example.com/a.pdf?sig=1', size: 3 }]);
  });
});
