import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HelpdeskInstance, InboundRequest } from '../../src/core/connector.ts';
import { definition, ZendeskOptions } from '../../connectors/helpdesks/zendesk/index.ts';
import { agentEvent } from '../fixtures/route.ts';
import { memoryKv } from '../../src/runtime/memory-kv.ts';
import { channelRef } from '../fixtures/channel-ref.ts';
import { recordingLogger } from '../fixtures/log.ts';
import { attempt, decision, deliveryFailure as failure, message, ticketInput as input } from '../fixtures/message.ts';

const BASE = 'https://acme.zendesk.com';
const EMAIL = 'bot@acme.test';
const TOKEN = 'zd-token-SECRET-0123456789';
const SECRET = 'whsec-SECRET-abcdef';
const BASIC = `Basic ${Buffer.from(`${EMAIL}/token:${TOKEN}`).toString('base64')}`;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- test captures of request bodies


let log = recordingLogger();

async function zendesk(overrides: Record<string, unknown> = {}): Promise<HelpdeskInstance> {
  const options = ZendeskOptions.parse({
    baseUrl: `${BASE}/`,
    email: EMAIL,
    apiToken: TOKEN,
    webhookSecret: SECRET,
    groups: { payments: 360001, compliance: '360002' },
    fields: { player_id: 900001 },
    types: { bug: 'problem' },
    ...overrides,
  });
  return definition.create(options, { log, kv: memoryKv(), dataDir: '/nonexistent' });
}

beforeAll(() => {
  nock.disableNetConnect();
});

afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  log = recordingLogger();
  expect(pending, 'every expected request was made').toEqual([]);
});

describe('options', () => {
  it('requires email + apiToken or oauthToken, naming the missing field', () => {
    const r = ZendeskOptions.safeParse({ baseUrl: BASE, email: EMAIL });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join('.'))).toEqual(['apiToken']);
    expect(ZendeskOptions.safeParse({ baseUrl: BASE, oauthToken: 'x' }).success).toBe(true);
    expect(ZendeskOptions.safeParse({ baseUrl: 'acme.zendesk.com', oauthToken: 'x' }).error!.issues[0]!.path).toEqual(['baseUrl']);
  });

  it('an OAuth token is sent as Bearer', async () => {
    nock(BASE, { reqheaders: { authorization: 'Bearer oauth-SECRET' } })
      .get('/api/v2/users/me')
      .reply(200, { user: { id: 5, name: 'Bot', email: EMAIL, role: 'admin' } });
    const zd = await zendesk({ email: undefined, apiToken: undefined, oauthToken: 'oauth-SECRET' });
    expect(await zd.check!()).toBe(`authenticated as Bot <${EMAIL}> (admin) at ${BASE}`);
  });
});

describe('upsertRequester', () => {
  it('without an email: external_id from channel and sender, display name, phone, locale; Basic email/token auth', async () => {
    let body: Json = {};
    nock(BASE, { reqheaders: { authorization: BASIC } })
      .post('/api/v2/users/create_or_update', (b) => ((body = b), true))
      .reply(201, { user: { id: 9001, name: 'Azamat', role: 'end-user' } });
    const zd = await zendesk();
    const ref = await zd.upsertRequester({ externalId: '777', displayName: 'Azamat', phone: '+998901234567', locale: 'uz' }, channelRef({ id: 'telegram', kind: 'telegram' }), attempt());
    expect(ref).toEqual({ id: '9001' });
    expect(body).toEqual({
      user: { name: 'Azamat', external_id: 'telegram:777', phone: '+998901234567', locale: 'uz', skip_verify_email: true },
    });
  });

  it('with an email: matched by email, no external_id; unnamed senders get "<Kind> user <id>"', async () => {
    let body: Json = {};
    nock(BASE)
      .post('/api/v2/users/create_or_update', (b) => ((body = b), true))
      .reply(200, { user: { id: 9002, name: 'x', role: 'end-user' } });
    const zd = await zendesk();
    await zd.upsertRequester({ externalId: '555', email: 'p@example.com' }, channelRef({ id: 'tg2', kind: 'telegram' }), attempt());
    expect(body).toEqual({ user: { name: 'Telegram user 555', email: 'p@example.com', skip_verify_email: true } });
  });

  it('an unchanged requester is not sent again (Zendesk limits updates per user)', async () => {
    nock(BASE).post('/api/v2/users/create_or_update').once().reply(200, { user: { id: 9003, role: 'end-user' } });
    const zd = await zendesk();
    const sender = { externalId: '1', username: 'bob' };
    expect(await zd.upsertRequester(sender, channelRef({ id: 'telegram', kind: 'telegram' }), attempt())).toEqual({ id: '9003' });
    expect(await zd.upsertRequester(sender, channelRef({ id: 'telegram', kind: 'telegram' }), attempt())).toEqual({ id: '9003' });
  });

  it('a phone Zendesk refuses is dropped instead of losing the message', async () => {
    const bodies: Json[] = [];
    nock(BASE)
      .post('/api/v2/users/create_or_update', (b) => (bodies.push(b), true))
      .reply(422, { error: 'RecordInvalid', description: 'Record validation errors', details: { phone: [{ description: 'Phone: is invalid', error: 'InvalidFormat' }] } })
      .post('/api/v2/users/create_or_update', (b) => (bodies.push(b), true))
      .reply(201, { user: { id: 9004, role: 'end-user' } });
    const zd = await zendesk();
    expect(await zd.upsertRequester({ externalId: '2', phone: 'not a phone' }, channelRef({ id: 'telegram', kind: 'telegram' }), attempt())).toEqual({ id: '9004' });
    expect(bodies[0]!.user.phone).toBe('not a phone');
    expect(bodies[1]!.user).not.toHaveProperty('phone');
  });
});

describe('createTicket', () => {
  it('uploads each file (reusing the token), then creates the ticket with the exact fields, then one private note', async () => {
    const uploads: string[] = [];
    let ticketBody: Json = {};
    let noteBody: Json = {};
    nock(BASE, { reqheaders: { authorization: BASIC } })
      .post('/api/v2/uploads', (b) => (uploads.push(String(b)), true))
      .query({ filename: 'receipt.jpg' })
      .matchHeader('content-type', 'image/jpeg')
      .reply(201, { upload: { token: 'tok-1', attachment: { id: 1 } } })
      // A file named without an extension gets one from its type: Zendesk checks they agree.
      .post('/api/v2/uploads', (b) => (uploads.push(String(b)), true))
      .query({ filename: 'voice.ogg', token: 'tok-1' })
      .matchHeader('content-type', 'audio/ogg')
      .reply(201, { upload: { token: 'tok-1' } })
      .post('/api/v2/tickets', (b) => ((ticketBody = b), true))
      .matchHeader('idempotency-key', 'job-77')
      .reply(201, { ticket: { id: 42, status: 'new' } }, { 'x-idempotency-lookup': 'miss' })
      .put('/api/v2/tickets/42', (b) => ((noteBody = b), true))
      .reply(200, { ticket: { id: 42 } });

    const zd = await zendesk();
    const ref = await zd.createTicket(
      input({
        extra: [message({ id: 'm2', text: 'second line' })],
        decision: decision({ priority: 'high', type: 'bug', group: 'payments', tags: ['payments', 'VIP Player'], fields: { player_id: 'P-1' } }),
        files: [
          { name: 'receipt.jpg', mime: 'image/jpeg', data: Buffer.from('JPEG-BYTES') },
          { name: 'voice', mime: 'audio/ogg', data: Buffer.from('OGG-BYTES') },
        ],
        notes: ['Rules fired: withdrawal', 'Attachment "big.mp4" was not attached: over 20 MB'],
      }),
      { id: '9001' },
      attempt({ idempotencyKey: 'job-77' }),
    );

    expect(ref).toEqual({ ticketId: '42', requesterId: '9001', url: `${BASE}/agent/tickets/42` });
    expect(uploads).toEqual(['JPEG-BYTES', 'OGG-BYTES']);
    expect(ticketBody).toEqual({
      ticket: {
        subject: 'Withdrawal',
        comment: { body: 'вывод не пришёл\nsecond line', public: true, author_id: 9001, uploads: ['tok-1'] },
        requester_id: 9001,
        submitter_id: 9001,
        priority: 'high',
        type: 'problem',
        group_id: 360001,
        tags: ['payments', 'vip_player', 'switchboard', 'switchboard_messenger'],
        custom_fields: [{ id: 900001, value: 'P-1' }],
        external_id: 'telegram:777',
        metadata: { switchboard: { message_id: '01HZMSG0000000000000000001' } },
      },
    });
    expect(noteBody).toEqual({
      ticket: {
        comment: { body: 'Rules fired: withdrawal\nAttachment "big.mp4" was not attached: over 20 MB', public: false },
        metadata: { switchboard: { note_id: '01HZMSG0000000000000000001:notes' } },
      },
    });
  });

  it('a follow-up of a closed ticket carries via_followup_source_id', async () => {
    let body: Json = {};
    nock(BASE).post('/api/v2/tickets', (b) => ((body = b), true)).reply(201, { ticket: { id: 43 } });
    const zd = await zendesk();
    await zd.createTicket(input({ followUpOf: '41' }), { id: '9001' }, attempt());
    expect(body.ticket.via_followup_source_id).toBe(41);
  });

  it('a file Zendesk refuses becomes a note, and the message still goes in', async () => {
    let ticketBody: Json = {};
    let noteBody: Json = {};
    nock(BASE)
      .post('/api/v2/uploads')
      .query({ filename: 'run.exe' })
      .reply(422, { error: 'RecordInvalid', details: { base: [{ description: 'The file type and file extension do not match' }] } })
      .post('/api/v2/tickets', (b) => ((ticketBody = b), true))
      .reply(201, { ticket: { id: 44 } })
      .put('/api/v2/tickets/44', (b) => ((noteBody = b), true))
      .reply(200, { ticket: { id: 44 } });
    const zd = await zendesk();
    await zd.createTicket(input({ files: [{ name: 'run.exe', mime: 'image/png', data: Buffer.from('MZ') }] }), { id: '9001' }, attempt());
    expect(ticketBody.ticket.comment).not.toHaveProperty('uploads');
    expect(noteBody.ticket.comment.body).toContain('Attachment "run.exe"');
    expect(noteBody.ticket.comment.body).toContain('The file type and file extension do not match');
  });

  it('an unmapped group, field or type is a permanent error naming it and the option to set, before any request', async () => {
    const zd = await zendesk();
    const err = await failure(
      zd.createTicket(input({ decision: decision({ group: 'vip', type: 'complaint', fields: { kyc_level: 2 } }) }), { id: '1' }, attempt()),
    );
    expect(err.kind).toBe('permanent');
    expect(err.message).toContain('group "vip" has no Zendesk group id: set helpdesk.groups.vip');
    expect(err.message).toContain('field "kyc_level" has no Zendesk field id: set helpdesk.fields.kyc_level');
    expect(err.message).toContain('ticket type "complaint" is not a Zendesk type');
  });

  it('reconcile: a ticket carrying this message marker is returned, nothing is created', async () => {
    nock(BASE)
      .get('/api/v2/tickets')
      .query({ external_id: 'telegram:777' })
      .reply(200, { tickets: [{ id: 30, status: 'closed' }, { id: 31, status: 'new' }] })
      .get('/api/v2/tickets/31/audits')
      .reply(200, { audits: [{ id: 1, metadata: { system: {}, custom: { switchboard: { message_id: '01HZMSG0000000000000000001' } } } }], next_page: null });
    const zd = await zendesk();
    const ref = await zd.createTicket(input(), { id: '9001' }, attempt({ reconcile: true }));
    expect(ref.ticketId).toBe('31');
  });

  it('reconcile: no ticket carries the marker, so the ticket is created', async () => {
    nock(BASE)
      .get('/api/v2/tickets')
      .query({ external_id: 'telegram:777' })
      .reply(200, { tickets: [{ id: 30, status: 'closed' }] })
      .get('/api/v2/tickets/30/audits')
      .reply(200, { audits: [{ id: 1, metadata: { custom: { switchboard: { message_id: 'an-older-message' } } } }] })
      .post('/api/v2/tickets')
      .reply(201, { ticket: { id: 32 } });
    const zd = await zendesk();
    expect((await zd.createTicket(input(), { id: '9001' }, attempt({ reconcile: true }))).ticketId).toBe('32');
  });

  it('Idempotency-Key reused with another body: the ticket an earlier attempt made is found and returned', async () => {
    nock(BASE)
      .post('/api/v2/tickets')
      .reply(400, { error: 'IdempotentRequestError', description: 'mismatch' })
      .get('/api/v2/tickets')
      .query({ external_id: 'telegram:777' })
      .reply(200, { tickets: [{ id: 33 }] })
      .get('/api/v2/tickets/33/audits')
      .reply(200, { audits: [{ id: 2, metadata: { custom: { switchboard: { message_id: '01HZMSG0000000000000000001' } } } }] });
    const zd = await zendesk();
    expect((await zd.createTicket(input(), { id: '9001' }, attempt())).ticketId).toBe('33');
  });
});

describe('appendMessage', () => {
  it('PUTs a public comment by the requester with additional_tags (never tags) and the message marker', async () => {
    let body: Json = {};
    nock(BASE).put('/api/v2/tickets/42', (b) => ((body = b), true)).reply(200, { ticket: { id: 42 } });
    const zd = await zendesk();
    const ref = await zd.appendMessage('42', input({ decision: decision({ tags: ['kyc'] }) }), { id: '9001' }, attempt());
    expect(ref).toEqual({ ticketId: '42', requesterId: '9001', url: `${BASE}/agent/tickets/42` });
    expect(body).toEqual({
      ticket: {
        comment: { body: 'вывод не пришёл', public: true, author_id: 9001 },
        additional_tags: ['kyc'],
        metadata: { switchboard: { message_id: '01HZMSG0000000000000000001' } },
      },
    });
  });

  it('raises the priority but never lowers it', async () => {
    const bodies: Json[] = [];
    nock(BASE)
      .get('/api/v2/tickets/42').reply(200, { ticket: { id: 42, status: 'open', priority: 'normal' } })
      .put('/api/v2/tickets/42', (b) => (bodies.push(b), true)).reply(200, { ticket: { id: 42 } })
      .get('/api/v2/tickets/42').reply(200, { ticket: { id: 42, status: 'open', priority: 'urgent' } })
      .put('/api/v2/tickets/42', (b) => (bodies.push(b), true)).reply(200, { ticket: { id: 42 } });
    const zd = await zendesk();
    await zd.appendMessage('42', input({ decision: decision({ priority: 'urgent' }) }), { id: '9001' }, attempt());
    await zd.appendMessage('42', input({ decision: decision({ priority: 'high' }) }), { id: '9001' }, attempt());
    expect(bodies[0]!.ticket.priority).toBe('urgent');
    expect(bodies[1]!.ticket).not.toHaveProperty('priority');
  });

  it('a closed ticket (422) gets a follow-up ticket linked with via_followup_source_id', async () => {
    let created: Json = {};
    nock(BASE)
      .put('/api/v2/tickets/42')
      .reply(422, { error: 'RecordInvalid', description: 'Record validation errors', details: { status: [{ description: 'Status: closed prevents ticket update' }] } })
      .post('/api/v2/tickets', (b) => ((created = b), true))
      .reply(201, { ticket: { id: 50 } });
    const zd = await zendesk();
    const ref = await zd.appendMessage('42', input(), { id: '9001' }, attempt());
    expect(ref.ticketId).toBe('50');
    expect(created.ticket.via_followup_source_id).toBe(42);
    expect(created.ticket.external_id).toBe('telegram:777');
  });

  it('a deleted ticket (404) gets a new ticket without a follow-up link', async () => {
    let created: Json = {};
    nock(BASE)
      .put('/api/v2/tickets/42')
      .reply(404, { error: 'RecordNotFound', description: 'Not found' })
      .post('/api/v2/tickets', (b) => ((created = b), true))
      .reply(201, { ticket: { id: 51 } });
    const zd = await zendesk();
    expect((await zd.appendMessage('42', input(), { id: '9001' }, attempt())).ticketId).toBe('51');
    expect(created.ticket).not.toHaveProperty('via_followup_source_id');
  });

  it('reconcile: an audit with this message marker means the comment is there; no second PUT', async () => {
    nock(BASE)
      .get('/api/v2/tickets/42/audits')
      .reply(200, { audits: [{ id: 1, metadata: { custom: {} } }], next_page: `${BASE}/api/v2/tickets/42/audits.json?page=2` })
      .get('/api/v2/tickets/42/audits.json')
      .query({ page: '2' })
      .reply(200, { audits: [{ id: 2, metadata: { custom: { switchboard: { message_id: '01HZMSG0000000000000000001' } } } }], next_page: null });
    const zd = await zendesk();
    expect((await zd.appendMessage('42', input(), { id: '9001' }, attempt({ reconcile: true }))).ticketId).toBe('42');
  });

  it('reconcile: no marker yet, so the comment is written once', async () => {
    nock(BASE)
      .get('/api/v2/tickets/42/audits').reply(200, { audits: [] })
      .put('/api/v2/tickets/42').once().reply(200, { ticket: { id: 42 } });
    const zd = await zendesk();
    await zd.appendMessage('42', input(), { id: '9001' }, attempt({ reconcile: true }));
  });
});

describe('addPrivateNote', () => {
  it('PUTs a private comment authored by the API user', async () => {
    let body: Json = {};
    nock(BASE).put('/api/v2/tickets/42', (b) => ((body = b), true)).reply(200, { ticket: { id: 42 } });
    const zd = await zendesk();
    await zd.addPrivateNote('42', 'reply not delivered: bot blocked', attempt({ idempotencyKey: 'note-job' }));
    expect(body).toEqual({
      ticket: { comment: { body: 'reply not delivered: bot blocked', public: false }, metadata: { switchboard: { note_id: 'note-job' } } },
    });
  });
});

describe('errors are sorted, and Zendesk’s own words kept', () => {
  const call = async (status: number, body: string, headers: Record<string, string> = {}) => {
    nock(BASE).put('/api/v2/tickets/42').reply(status, body, headers);
    const zd = await zendesk();
    return failure(zd.addPrivateNote('42', 'x', attempt()));
  };

  it('429 with Retry-After waits that long', async () => {
    const err = await call(429, '{"error":"TooManyRequests"}', { 'retry-after': '7' });
    expect(err).toMatchObject({ kind: 'rate_limited', status: 429, retryAfterMs: 7000, detail: '{"error":"TooManyRequests"}' });
  });

  it('429 with a plain-text body and no Retry-After still waits', async () => {
    const body = 'You have exceeded the rate limit for updating a single unique user';
    const err = await call(429, body, { 'content-type': 'text/plain' });
    expect(err).toMatchObject({ kind: 'rate_limited', retryAfterMs: 60_000, detail: body });
    expect(err.message).toContain(body);
  });

  it('5xx is retried and marked ambiguous', async () => {
    const err = await call(503, '<html>Service Unavailable</html>');
    expect(err).toMatchObject({ kind: 'retry', ambiguous: true, status: 503, detail: '<html>Service Unavailable</html>' });
  });

  it('409 is retried', async () => {
    expect((await call(409, '{"error":"Conflict"}')).kind).toBe('retry');
  });

  it('422 is permanent, summarizes the details and keeps the whole body verbatim', async () => {
    const body = '{"error":"RecordInvalid","description":"Record validation errors","details":{"priority":[{"description":"Priority: is not valid","error":"InvalidValue"}],"base":[{"description":"Ticket is too big"}]}}';
    const err = await call(422, body);
    expect(err.kind).toBe('permanent');
    expect(err.detail).toBe(body);
    expect(err.message).toContain('priority: Priority: is not valid; base: Ticket is too big');
  });

  it('401 is permanent "credentials rejected", and the token appears nowhere', async () => {
    const err = await call(401, '{"error":"Couldn\'t authenticate you"}');
    expect(err.kind).toBe('permanent');
    expect(err.message).toMatch(/rejected the credentials \(401\)/);
    expect(JSON.stringify({ message: err.message, detail: err.detail, logs: log.lines })).not.toContain(TOKEN);
    expect(JSON.stringify(log.lines)).not.toContain(Buffer.from(`${EMAIL}/token:${TOKEN}`).toString('base64'));
  });

  it('a timeout is retried and ambiguous', async () => {
    // A real server that never answers: the request may have been applied, nobody can tell.
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    nock.enableNetConnect(`127.0.0.1:${port}`);
    try {
      const zd = await zendesk({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 100 });
      const err = await failure(zd.addPrivateNote('42', 'x', attempt()));
      expect(err).toMatchObject({ kind: 'retry', ambiguous: true });
      expect(err.message).toMatch(/timeout/i);
    } finally {
      nock.disableNetConnect();
      silent.closeAllConnections();
      await new Promise((r) => silent.close(r));
    }
  });

  it('a refused connection is retried and names the cause', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const zd = await zendesk({ baseUrl: `http://127.0.0.1:${port}` });
    nock.enableNetConnect(`127.0.0.1:${port}`);
    try {
      const err = await failure(zd.addPrivateNote('42', 'x', attempt()));
      expect(err).toMatchObject({ kind: 'retry', ambiguous: true });
      expect(err.message).toContain('ECONNREFUSED');
    } finally {
      nock.disableNetConnect();
    }
  });
});

describe('verifyAgentEvent', () => {
  const sign = (timestamp: string, body: string, secret = SECRET) => createHmac('sha256', secret).update(timestamp + body).digest('base64');
  const request = (body: string, headers: Record<string, string | undefined>): InboundRequest => ({
    method: 'POST',
    url: '/helpdesk/events',
    headers,
    query: {},
    rawBody: Buffer.from(body),
    body: undefined,
    files: [],
    ip: '127.0.0.1',
  });
  const signed = (body: string, at = new Date(), secret = SECRET) => {
    const timestamp = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
    return request(body, { 'x-zendesk-webhook-signature': sign(timestamp, body, secret), 'x-zendesk-webhook-signature-timestamp': timestamp });
  };

  it('a correctly signed trigger body yields its ticket id (number or string)', async () => {
    const zd = await zendesk();
    expect(await agentEvent(zd, signed('{"ticket_id":"123","comment_id":"9"}'))).toEqual({ ok: true, ticketIds: ['123'] });
    expect(await agentEvent(zd, signed('{"ticket_id":124}'))).toEqual({ ok: true, ticketIds: ['124'] });
  });

  it('Zendesk event format: comment_added yields detail.id, other events are acknowledged and ignored', async () => {
    const zd = await zendesk();
    const event = (type: string) => JSON.stringify({ type, account_id: 1, id: 'ev-1', time: '2025-01-01T00:00:00Z', detail: { id: '125', requester_id: '5' }, event: {} });
    expect(await agentEvent(zd, signed(event('zen:event-type:ticket.comment_added')))).toEqual({ ok: true, ticketIds: ['125'] });
    expect(await agentEvent(zd, signed(event('zen:event-type:ticket.status_changed')))).toEqual({ ok: true, ticketIds: [] });
  });

  it('carries the ticket\'s tags when the event has them (event detail.tags, the trigger\'s {{ticket.tags}}, a reply_via field), so no read is needed for them', async () => {
    const zd = await zendesk();
    const event = JSON.stringify({ type: 'zen:event-type:ticket.comment_added', detail: { id: '126', tags: ['vip', 'reply_via_support_mail'] }, event: {} });
    expect(await zd.verifyAgentEvent(signed(event))).toEqual({ ok: true, ticketIds: ['126'], tags: ['vip', 'reply_via_support_mail'] });
    expect(await zd.verifyAgentEvent(signed('{"ticket_id":"127","tags":"vip reply_via_whatsapp"}'))).toEqual({ ok: true, ticketIds: ['127'], tags: ['vip', 'reply_via_whatsapp'] });
    expect(await zd.verifyAgentEvent(signed('{"ticket_id":"128","tags":"","reply_via":"support-mail"}'))).toEqual({ ok: true, ticketIds: ['128'], tags: ['reply_via_support-mail'] });
    // A hostile body costs little: a megabyte of tags is cut to a bounded list.
    const flood = await zd.verifyAgentEvent(signed(JSON.stringify({ ticket_id: '129', tags: 'x '.repeat(500_000) })));
    expect(flood.ok && flood.tags!.length).toBeLessThanOrEqual(200);
  });

  it('a forged signature is refused without revealing the expected one', async () => {
    const zd = await zendesk();
    const body = '{"ticket_id":"123"}';
    const result = await agentEvent(zd, signed(body, new Date(), 'wrong-secret'));
    expect(result).toMatchObject({ ok: false, status: 401 });
    const expected = sign(signed(body).headers['x-zendesk-webhook-signature-timestamp']!, body);
    expect(JSON.stringify(result)).not.toContain(expected);
    expect(JSON.stringify(result)).not.toContain(SECRET);
  });

  it('a body changed after signing is refused', async () => {
    const zd = await zendesk();
    const req = signed('{"ticket_id":"123"}');
    req.rawBody = Buffer.from('{"ticket_id":"999"}');
    expect(await agentEvent(zd, req)).toMatchObject({ ok: false, status: 401 });
  });

  it('a stale signature is refused', async () => {
    const zd = await zendesk({ webhookReplayWindowSec: 60 });
    const result = await agentEvent(zd, signed('{"ticket_id":"1"}', new Date(Date.now() - 5 * 60_000)));
    expect(result).toMatchObject({ ok: false, status: 401 });
    expect((result as { error: string }).error).toMatch(/replay window/);
  });

  it('missing signature headers are refused, naming the header', async () => {
    const zd = await zendesk();
    const result = await agentEvent(zd, request('{"ticket_id":"1"}', {}));
    expect(result).toEqual({ ok: false, status: 401, error: 'missing x-zendesk-webhook-signature header' });
  });

  it('bad JSON or no ticket id is a 400 naming the field', async () => {
    const zd = await zendesk();
    expect(await agentEvent(zd, signed('not json'))).toMatchObject({ ok: false, status: 400 });
    const missing = await agentEvent(zd, signed('{"comment_id":"1"}'));
    expect(missing).toMatchObject({ ok: false, status: 400 });
    expect((missing as { error: string }).error).toMatch(/^ticket_id is missing/);
    const wrong = await agentEvent(zd, signed('{"ticket_id":"{{ticket.id}}"}'));
    expect((wrong as { error: string }).error).toMatch(/^ticket_id must be a ticket number/);
    const noDetail = await agentEvent(zd, signed('{"type":"zen:event-type:ticket.comment_added","detail":{}}'));
    expect((noDetail as { error: string }).error).toMatch(/^detail\.id is missing/);
  });

  it('without a webhookSecret, agent events are refused; a configured shared header is checked too', async () => {
    const none = await zendesk({ webhookSecret: undefined });
    expect(await agentEvent(none, request('{"ticket_id":"1"}', {}))).toMatchObject({ ok: false, status: 401 });
    const header = await zendesk({ webhookSecret: undefined, agentReplyAuth: { header: 'X-Switchboard-Key', value: 'shared-SECRET' } });
    expect(await agentEvent(header, request('{"ticket_id":"7"}', { 'x-switchboard-key': 'shared-SECRET' }))).toEqual({ ok: true, ticketIds: ['7'] });
    const wrong = await agentEvent(header, request('{"ticket_id":"7"}', { 'x-switchboard-key': 'guess' }));
    expect(wrong).toMatchObject({ ok: false, status: 401 });
    expect(JSON.stringify(wrong)).not.toContain('shared-SECRET');
  });
});

describe('listAgentReplies', () => {
  it('follows next_page, keeps public comments by agents and admins only, with attachments', async () => {
    nock(BASE)
      .get('/api/v2/tickets/42/comments')
      .query({ include: 'users' })
      .reply(200, {
        comments: [
          { id: 1, author_id: 9001, public: true, body: 'customer text', created_at: '2025-01-01T10:00:00Z' },
          { id: 2, author_id: 7, public: true, body: 'Hello **there**', plain_body: 'Hello there', html_body: '<p>Hello <b>there</b></p>', created_at: '2025-01-01T10:05:00Z',
            attachments: [{ file_name: 'guide.pdf', content_url: `${BASE}/attachments/token/abc/?name=guide.pdf`, content_type: 'application/pdf', size: 12 }] },
          { id: 3, author_id: 7, public: false, body: 'internal', created_at: '2025-01-01T10:06:00Z' },
        ],
        users: [{ id: 9001, role: 'end-user' }, { id: 7, role: 'agent' }],
        // Zendesk's own host: only the path is followed, against baseUrl.
        next_page: 'https://acme.zendesk.com/api/v2/tickets/42/comments.json?include=users&page=2',
      })
      .get('/api/v2/tickets/42/comments.json')
      .query({ include: 'users', page: '2' })
      .reply(200, { comments: [{ id: 4, author_id: 8, public: true, body: 'admin here', created_at: '2025-01-01T11:00:00Z' }], users: [{ id: 8, role: 'admin' }], next_page: null });
    const zd = await zendesk();
    const replies = await zd.listAgentReplies('42');
    expect(replies).toEqual([
      {
        ticketId: '42',
        commentId: '2',
        text: 'Hello there',
        html: '<p>Hello <b>there</b></p>',
        attachments: [{ name: 'guide.pdf', mime: 'application/pdf', url: `${BASE}/attachments/token/abc/?name=guide.pdf`, size: 12 }],
        createdAt: '2025-01-01T10:05:00Z',
      },
      { ticketId: '42', commentId: '4', text: 'admin here', html: undefined, attachments: [], createdAt: '2025-01-01T11:00:00Z' },
    ]);
  });
});

describe('fetchAttachment', () => {
  /** A CDN as a real server on 127.0.0.1, noting the authorization header of every request. */
  async function cdn(): Promise<{ url: string; seen: (string | undefined)[]; close(): Promise<void> }> {
    const seen: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': req.url?.endsWith('.png') ? 'image/png' : 'application/pdf; charset=binary' }).end(req.url?.endsWith('.png') ? 'PNG' : '%PDF-1.4');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    nock.enableNetConnect(`127.0.0.1:${port}`);
    const close = () => new Promise<void>((r) => server.close(() => r())).finally(() => nock.disableNetConnect());
    return { url: `http://127.0.0.1:${port}`, seen, close };
  }

  it('sends the credentials to the Zendesk host only, also across a redirect to a CDN', async () => {
    const files = await cdn();
    nock(BASE, { reqheaders: { authorization: BASIC } })
      .get('/attachments/token/abc/')
      .query({ name: 'guide.pdf' })
      .reply(302, '', { location: `${files.url}/file/xyz?sig=1` });
    // The CDN stands on 127.0.0.1 here, so the private-address allowance is explicit.
    const zd = await zendesk({ attachments: { allowPrivateAddresses: true } });
    const file = await zd.fetchAttachment(`${BASE}/attachments/token/abc/?name=guide.pdf`);
    expect(file).toEqual({ name: 'guide.pdf', mime: 'application/pdf', data: Buffer.from('%PDF-1.4') });
    expect(await zd.fetchAttachment(`${files.url}/x.png`)).toEqual({ name: 'x.png', mime: 'image/png', data: Buffer.from('PNG') });
    expect(files.seen).toEqual([undefined, undefined]);
    await files.close();
  });

  it('by default follows no link, nor redirect, to a private address', async () => {
    const files = await cdn();
    nock(BASE).get('/attachments/token/abc/').reply(302, '', { location: `${files.url}/latest/meta-data/` });
    const zd = await zendesk();
    const redirected = await zd.fetchAttachment(`${BASE}/attachments/token/abc/`).catch((e: unknown) => e);
    expect(redirected).toMatchObject({ kind: 'permanent', message: expect.stringContaining('127.0.0.1 is a loopback address') });
    const direct = await zd.fetchAttachment('http://169.254.169.254/latest/meta-data/').catch((e: unknown) => e);
    expect(direct).toMatchObject({ kind: 'permanent', message: expect.stringContaining('169.254.169.254 is a link-local (cloud metadata) address') });
    expect(files.seen).toEqual([]);
    await files.close();
  });
});

describe('check', () => {
  it('says who the credentials belong to', async () => {
    nock(BASE).get('/api/v2/users/me').reply(200, { user: { id: 5, name: 'Switchboard', email: EMAIL, role: 'admin' } });
    expect(await (await zendesk()).check!()).toBe(`authenticated as Switchboard <${EMAIL}> (admin) at ${BASE}`);
  });
});
