import { createHash, createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelInstance, InboundRequest, RouteSpec } from '../../src/core/connector.ts';
import { DeliveryError } from '../../src/core/errors.ts';
import type { InboundDraft } from '../../src/core/message.ts';
import { definition as webhook } from '../../connectors/channels/webhook/index.ts';
import { channelContext, type FakeChannelContext } from '../fixtures/channel-context.ts';
import { callRoute } from '../fixtures/route.ts';

/** What the contract checks for every channel (ack after store, 401, 503, bad shapes) is in test/contract/channels/webhook.test.ts. */

let fake: FakeChannelContext = channelContext({ channelId: 'crm' });
/** Every draft handed to accept(), duplicates included. */
const accepted = (): InboundDraft[] => fake.acceptCalls.flat().map((key) => fake.stored().find((d) => d.dedupeKey === key)!);

async function channel(options: Record<string, unknown>, channelId = 'crm'): Promise<ChannelInstance> {
  fake = channelContext({ channelId });
  return webhook.create(webhook.options.parse(options), fake.ctx);
}

function route(ch: ChannelInstance, method: string, path: string): RouteSpec {
  const r = ch.routes!.find((x) => x.method === method && x.path === path);
  if (!r) throw new Error(`no route ${method} ${path}`);
  return r;
}

function request(body: string, o: { headers?: Record<string, string>; url?: string; contentType?: string } = {}): InboundRequest {
  const url = o.url ?? '/webhooks/crm';
  const query = Object.fromEntries(new URL(url, 'http://x').searchParams);
  return {
    method: 'POST',
    url,
    headers: { 'content-type': o.contentType ?? 'application/json', ...o.headers },
    query,
    rawBody: Buffer.from(body),
    body: undefined,
    files: [],
    ip: '127.0.0.1',
  };
}

const post = (ch: ChannelInstance, req: InboundRequest) => callRoute(route(ch, 'POST', req.url.split('?')[0] === '/webhooks/crm' || req.url === '/' ? '' : '/*'), req);

const HMAC_SECRET = 'crm-signing-secret-42';
const hmacHex = (body: string) => createHmac('sha256', HMAC_SECRET).update(body).digest('hex');

const crmOptions = {
  auth: { mode: 'hmac', header: 'X-CRM-Signature', secret: HMAC_SECRET },
  mapping: {
    event: 'type',
    dedupeKey: 'id',
    text: 'data.message',
    senderId: 'data.customer.id',
    phone: 'data.customer.phone',
    email: 'data.customer.email',
    name: ['data.customer.name', '{{data.customer.first}} {{data.customer.last}}'],
    conversationId: 'data.case',
    occurredAt: 'created',
    attachments: ['data.files[].url'],
  },
  drop: [{ path: 'type', in: ['ping', 'typing'] }],
  cases: [{ when: [{ path: 'type', equals: 'crm.note' }], private: true, kind: 'event', mapping: { text: 'CRM note: {{data.message}}' } }],
};

const crmEvent = (over: Record<string, unknown> = {}) => JSON.stringify({
  id: 'evt_1001',
  type: 'crm.message',
  created: 1767225600,
  data: {
    case: 'case-9',
    message: 'Где мой вывод?',
    customer: { id: 'cust-7', phone: '+998 (90) 123-45-67', email: 'p@example.com', first: 'Dilnoza', last: 'R' },
    files: [{ url: 'https://files.example.com/a/receipt.pdf' }, { url: 'https://files.example.com/a/photo.jpg' }],
  },
  ...over,
});

describe('generic webhook channel: mapping', () => {

  it('maps a signed JSON event to a message: text, sender, phone, email, name, conversation, dedupe key, time, files', async () => {
    const ch = await channel(crmOptions);
    const body = crmEvent();
    const res = await post(ch, request(body, { headers: { 'x-crm-signature': hmacHex(body) } }));
    expect(res.status).toBe(200);
    expect(accepted()).toHaveLength(1);
    const d = accepted()[0]!;
    expect(d).toMatchObject({
      kind: 'message',
      dedupeKey: 'crm.message:evt_1001',
      text: 'Где мой вывод?',
      conversation: { externalId: 'case-9' },
      sender: { externalId: 'cust-7', phone: '+998901234567', email: 'p@example.com', displayName: 'Dilnoza R' },
      occurredAt: '2026-01-01T00:00:00.000Z',
    });
    expect(d.attachments?.map((a) => [a.name, a.mime, a.source])).toEqual([
      ['receipt.pdf', 'application/pdf', 'https://files.example.com/a/receipt.pdf'],
      ['photo.jpg', 'image/jpeg', 'https://files.example.com/a/photo.jpg'],
    ]);
    expect(d.private).toBeUndefined();
  });

  it('drops events by condition with a success answer, and applies the first matching case', async () => {
    const ch = await channel(crmOptions);
    const ping = crmEvent({ type: 'ping' });
    expect((await post(ch, request(ping, { headers: { 'x-crm-signature': hmacHex(ping) } }))).status).toBe(200);
    expect(accepted()).toHaveLength(0);
    const note = crmEvent({ type: 'crm.note', id: 'evt_2' });
    await post(ch, request(note, { headers: { 'x-crm-signature': hmacHex(note) } }));
    expect(accepted()).toHaveLength(1);
    expect(accepted()[0]).toMatchObject({ kind: 'event', private: true, text: 'CRM note: Где мой вывод?' });
  });

  it('answers 400 for a body that is not JSON', async () => {
    const ch = await channel(crmOptions);
    const res = await post(ch, request('{nope', { headers: { 'x-crm-signature': hmacHex('{nope') } }));
    expect(res.status).toBe(400);
  });

  it('uses a hash of the body as the dedupe key when none is mapped, so a resend is the same event', async () => {
    const ch = await channel({ auth: { mode: 'header', header: 'X-Token', secret: 'shared-secret-1' }, mapping: { senderId: 'from', text: 'text' } });
    const body = JSON.stringify({ from: 'u1', text: 'hello' });
    await post(ch, request(body, { headers: { 'x-token': 'shared-secret-1' } }));
    await post(ch, request(body, { headers: { 'x-token': 'shared-secret-1' } }));
    expect(accepted()[0]!.dedupeKey).toMatch(/^sha256:[0-9a-f]{40}$/);
    expect(accepted()[1]!.dedupeKey).toBe(accepted()[0]!.dedupeKey);
  });
});

describe('generic webhook channel: authentication modes', () => {
  const body = JSON.stringify({ from: 'u1', text: 'hello' });
  const mapping = { senderId: 'from', text: 'text' };

  it('hmac sha1 base64 with a prefix', async () => {
    const ch = await channel({ mapping, auth: { mode: 'hmac', header: 'X-Hub-Signature', algorithm: 'sha1', encoding: 'base64', prefix: 'sha1=', secret: 'sha1-secret-xyz' } });
    const sig = `sha1=${createHmac('sha1', 'sha1-secret-xyz').update(body).digest('base64')}`;
    expect((await post(ch, request(body, { headers: { 'x-hub-signature': sig } }))).status).toBe(200);
    expect((await post(ch, request(body, { headers: { 'x-hub-signature': sig.replace('sha1=', '') } }))).status).toBe(401);
  });

  it('shared secret header with a Bearer prefix', async () => {
    const ch = await channel({ mapping, auth: { mode: 'header', header: 'Authorization', prefix: 'Bearer ', secret: 'bearer-secret-1' } });
    expect((await post(ch, request(body, { headers: { authorization: 'Bearer bearer-secret-1' } }))).status).toBe(200);
    expect((await post(ch, request(body, { headers: { authorization: 'Bearer bearer-secret-2' } }))).status).toBe(401);
  });

  it('basic auth', async () => {
    const ch = await channel({ mapping, auth: { mode: 'basic', username: 'pbx', password: 'basic-password' } });
    const good = `Basic ${Buffer.from('pbx:basic-password').toString('base64')}`;
    const bad = `Basic ${Buffer.from('pbx:other-password').toString('base64')}`;
    expect((await post(ch, request(body, { headers: { authorization: good } }))).status).toBe(200);
    expect((await post(ch, request(body, { headers: { authorization: bad } }))).status).toBe(401);
  });

  it('a token in the query', async () => {
    const ch = await channel({ mapping, auth: { mode: 'query', secret: 'url-token-123456' } });
    expect((await post(ch, request(body, { url: '/webhooks/crm?token=url-token-123456' }))).status).toBe(200);
    expect((await post(ch, request(body, { url: '/webhooks/crm?token=wrong' }))).status).toBe(401);
    expect(accepted()).toHaveLength(1);
  });
});

describe('generic webhook channel: presets', () => {
  const KEY = 'mango-api-key-0001';
  const SALT = 'mango-salt-0001';
  // Mango's recipe, written out here independently of the channel: sha256 hex of key + json + salt.
  const mangoForm = (json: string, sign = createHash('sha256').update(KEY + json + SALT).digest('hex')) =>
    new URLSearchParams({ vpbx_api_key: KEY, sign, json }).toString();
  const summary = (over: Record<string, unknown> = {}) => JSON.stringify({
    entry_id: 'MTAxMjM0NTY3OA==', call_direction: 1, from: { number: '79161234567' }, to: { number: '74951234567', extension: '101' },
    line_number: '74951234567', create_time: 1767225600, talk_time: 0, end_time: 1767225630, entry_result: 0, disconnect_reason: 1110, ...over,
  });
  const mango = () => channel({ preset: 'mango', auth: { mode: 'mango', apiKey: KEY, apiSalt: SALT } }, 'mango');
  const mangoReq = (form: string, path = '/events/summary') =>
    request(form, { url: `/webhooks/mango${path}`, contentType: 'application/x-www-form-urlencoded' });
  const postMango = (ch: ChannelInstance, req: InboundRequest) => callRoute(route(ch, 'POST', '/*'), req);

  it('Mango Office: a signed summary of an unanswered call is a missed-call message from the caller', async () => {
    const ch = await mango();
    const res = await postMango(ch, mangoReq(mangoForm(summary())));
    expect(res.status).toBe(200);
    expect(accepted()).toHaveLength(1);
    expect(accepted()[0]).toMatchObject({
      kind: 'call',
      dedupeKey: '/events/summary:MTAxMjM0NTY3OA==',
      conversation: { externalId: '79161234567' },
      sender: { externalId: '79161234567', phone: '79161234567' },
      text: 'Missed call from 79161234567 to 74951234567 (line 74951234567), disconnect reason 1110.',
    });
    expect(accepted()[0]!.private).toBeUndefined();
  });

  it('Mango Office: an answered call is a private call note; per-leg events are dropped; a tampered sign is refused', async () => {
    const ch = await mango();
    await postMango(ch, mangoReq(mangoForm(summary({ talk_time: 95, entry_id: 'e2' }))));
    expect(accepted()[0]).toMatchObject({ private: true, text: 'Answered call from 79161234567 to 74951234567 (extension 101), talk time 95 s.' });
    expect((await postMango(ch, mangoReq(mangoForm(JSON.stringify({ entry_id: 'e3', call_state: 'Appeared' })), '/events/call'))).status).toBe(200);
    expect(accepted()).toHaveLength(1);
    const json = summary({ entry_id: 'e4' });
    const tampered = mangoForm(json.replace('79161234567', '79990000000'), createHash('sha256').update(KEY + json + SALT).digest('hex'));
    expect((await postMango(ch, mangoReq(tampered))).status).toBe(401);
    expect(accepted()).toHaveLength(1);
  });

  const ZD_SECRET = 'zadarma-secret-0001';
  const zadarma = () => channel({ preset: 'zadarma', auth: { mode: 'zadarma', secret: ZD_SECRET } }, 'zadarma');
  // Zadarma's recipe, written out independently: base64 of the HEX HMAC-SHA1 of caller_id + called_did + call_start.
  const zdSign = (f: Record<string, string>) =>
    Buffer.from(createHmac('sha1', ZD_SECRET).update(`${f['caller_id']}${f['called_did']}${f['call_start']}`).digest('hex')).toString('base64');
  const zdEnd = (over: Record<string, string> = {}) => ({
    event: 'NOTIFY_END', call_start: '2026-01-01 10:00:00', pbx_call_id: 'in_abc123', caller_id: '998901234567', called_did: '998712000000',
    internal: '100', duration: '0', disposition: 'no answer', status_code: '19', is_recorded: '0', call_id_with_rec: '', ...over,
  });
  const zdReq = (f: Record<string, string>, signature = zdSign(f)) =>
    request(new URLSearchParams(f).toString(), { url: '/webhooks/zadarma', contentType: 'application/x-www-form-urlencoded', headers: { signature } });
  const postRoot = (ch: ChannelInstance, req: InboundRequest) => callRoute(route(ch, 'POST', ''), req);

  it('Zadarma: answers the echo check and turns NOTIFY_END into a missed call or a private call note', async () => {
    const ch = await zadarma();
    const echo = await route(ch, 'GET', '').handler({ ...request(''), method: 'GET', query: { zd_echo: 'abc123' } });
    expect(echo).toMatchObject({ status: 200, body: 'abc123' });
    expect((await postRoot(ch, zdReq(zdEnd()))).status).toBe(200);
    expect(accepted()[0]).toMatchObject({ kind: 'call', dedupeKey: 'NOTIFY_END:in_abc123', text: 'Missed call from 998901234567 to 998712000000 (no answer).' });
    await postRoot(ch, zdReq(zdEnd({ pbx_call_id: 'in_2', disposition: 'answered', duration: '64' })));
    expect(accepted()[1]).toMatchObject({ private: true, text: 'Answered call from 998901234567 to 998712000000 (extension 100), 64 s.' });
  });

  it('Zadarma: a wrong signature is refused and NOTIFY_START is dropped', async () => {
    const ch = await zadarma();
    expect((await postRoot(ch, zdReq(zdEnd(), zdSign(zdEnd({ caller_id: '1' }))))).status).toBe(401);
    const start = { event: 'NOTIFY_START', call_start: '2026-01-01 10:00:00', pbx_call_id: 'in_9', caller_id: '998901234567', called_did: '998712000000' };
    expect((await postRoot(ch, zdReq(start))).status).toBe(200);
    expect(accepted()).toHaveLength(0);
  });
});

describe('generic webhook channel: options', () => {
  it('needs something that identifies the customer', () => {
    const r = webhook.options.safeParse({ auth: { mode: 'header', header: 'X-T', secret: 'secret-123' }, mapping: { text: 'text' } });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain('senderId, phone or email');
  });

  it('names a bad field path and a bad template', () => {
    const r = webhook.options.safeParse({ auth: { mode: 'header', header: 'X-T', secret: 'secret-123' }, mapping: { senderId: 'a b', text: 'Hi {{bad path}}' } });
    const text = JSON.stringify(r.error?.issues);
    expect(text).toContain('\\"a b\\" is not a field path');
    expect(text).toContain('{{bad path}}');
  });

  it('takes a preset and lets every option override it', () => {
    const r = webhook.options.parse({ preset: 'zadarma', auth: { mode: 'zadarma', secret: 's' }, mapping: { text: 'Call {{caller_id}}' } });
    expect(r.preset).toBe('zadarma');
  });
});

describe('generic webhook channel: files', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/big.bin') return void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.alloc(2048));
      if (req.url === '/gone.pdf') return void res.writeHead(404).end('no such file');
      res.writeHead(200, { 'content-type': 'application/pdf', 'content-disposition': 'attachment; filename="statement.pdf"' }).end('%PDF-1.4');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  // The test's file server is on 127.0.0.1, so the private-address allowance is set explicitly.
  const opts = (hosts?: string[], allowPrivateAddresses = true) => ({
    auth: { mode: 'header', header: 'X-T', secret: 'secret-123' },
    mapping: { senderId: 'from' },
    attachments: { maxBytes: 1024, allowPrivateAddresses, ...(hosts ? { hosts } : {}) },
  });

  it('fetches a mapped file at delivery time, and refuses what it must not fetch', async () => {
    const ch = await channel(opts(['127.0.0.1']));
    const file = await ch.fetchAttachment({ name: 'x', mime: 'application/octet-stream', source: `${base}/doc` });
    expect(file).toMatchObject({ name: 'statement.pdf', mime: 'application/pdf' });
    expect(file.data.toString()).toBe('%PDF-1.4');
    const big = await ch.fetchAttachment({ name: 'big.bin', mime: 'x/y', source: `${base}/big.bin` }).catch((e: DeliveryError) => e);
    expect(big).toMatchObject({ kind: 'permanent' });
    const gone = await ch.fetchAttachment({ name: 'gone.pdf', mime: 'x/y', source: `${base}/gone.pdf` }).catch((e: DeliveryError) => e);
    expect(gone).toMatchObject({ kind: 'permanent', status: 404, detail: 'no such file' });
    const other = await channel(opts(['files.example.com']));
    const refused = await other.fetchAttachment({ name: 'x', mime: 'x/y', source: `${base}/doc` }).catch((e: DeliveryError) => e);
    expect(refused).toBeInstanceOf(DeliveryError);
    expect((refused as DeliveryError).message).toContain('not in the allowed hosts');
    const byDefault = await channel(opts(undefined, false));
    const loopback = await byDefault.fetchAttachment({ name: 'x', mime: 'x/y', source: `${base}/doc` }).catch((e: DeliveryError) => e);
    expect(loopback).toMatchObject({ kind: 'permanent', message: expect.stringContaining('127.0.0.1 is a loopback address') });
  });

  it('cannot send: a reply (the agent\'s or an automatic one) becomes a note saying how to reach the customer', async () => {
    const ch = await channel(opts());
    const to = { channelId: 'crm', externalId: 'c', sender: { externalId: 'c', phone: '+998901234567' } };
    for (const automatic of [false, true]) {
      const r = await ch.send(to, { text: 'hi', files: [], replyId: 'r1', automatic });
      expect(r.externalIds).toEqual([]);
      expect(r.notes?.[0]).toBe("channel 'crm' (webhook) only receives, so the customer did not get it; call +998901234567.");
    }
  });
});
