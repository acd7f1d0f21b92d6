import nock from 'nock';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChannelInstance, Conversation, InboundRequest, RouteSpec } from '../../src/core/connector.ts';
import { DeliveryError } from '../../src/core/errors.ts';
import { createWhatsAppCloudChannel } from '../../connectors/channels/whatsapp-cloud/channel.ts';
import { readChange } from '../../connectors/channels/whatsapp-cloud/normalize.ts';
import { WhatsAppCloudOptions } from '../../connectors/channels/whatsapp-cloud/options.ts';
import { ChangeValue } from '../../connectors/channels/whatsapp-cloud/payload.ts';
import { TEMPLATE_PARAMETER_LIMIT, planReply, templateParameter } from '../../connectors/channels/whatsapp-cloud/send.ts';
import { signBody, signatureMatches } from '../../connectors/channels/whatsapp-cloud/signature.ts';
import { windowState } from '../../connectors/channels/whatsapp-cloud/window.ts';
import { outcomeOfStatus } from '../../connectors/channels/whatsapp-cloud/statuses.ts';
import { metaClosedAt, recordSent } from '../../connectors/channels/whatsapp-cloud/sent-index.ts';
import { PHONE_NUMBER_ID, failedStatus, signedWebhook, waChange, waMessage, waPayload } from '../fakes/graph-api-server.ts';
import { callRoute } from '../fixtures/route.ts';
import { memoryKv } from '../../src/runtime/memory-kv.ts';
import { channelContext } from '../fixtures/channel-context.ts';

const GRAPH = 'https://graph.example.test';
const TOKEN = 'EAAunit-test-access-token-0123456789';
const APP_SECRET = 'fedcba9876543210fedcba9876543210';
const NOW = new Date('2026-03-01T12:00:00Z');


/** What the contract checks for every channel (ack after store, 401, 503, bad shapes, idempotent send) is in test/contract/channels/whatsapp-cloud.test.ts. */
function setup(overrides: Record<string, unknown> = {}) {
  const rec = channelContext({ channelId: 'wa' });
  const options = WhatsAppCloudOptions.parse({
    phoneNumberId: PHONE_NUMBER_ID,
    accessToken: TOKEN,
    appSecret: APP_SECRET,
    verifyToken: 'verify-token-1',
    graphUrl: GRAPH,
    ...overrides,
  });
  const channel: ChannelInstance = createWhatsAppCloudChannel(options, rec.ctx, { now: () => NOW });
  const route = (method: 'GET' | 'POST') => channel.routes!.find((r) => r.method === method) as RouteSpec;
  return { channel, kv: rec.ctx.kv, kvData: rec.kv, acceptCalls: rec.acceptCalls, notes: rec.notes, again: rec.again, putOff: rec.putOff, route };
}

function post(body: string, headers: Record<string, string>): InboundRequest {
  return { method: 'POST', url: '', headers, query: {}, rawBody: Buffer.from(body), body: undefined, files: [], ip: '127.0.0.1' };
}

const conversation = (waId: string, lastInboundAt?: string): Conversation => ({
  channelId: 'wa',
  externalId: waId,
  sender: { externalId: waId },
  meta: lastInboundAt ? { lastInboundAt } : {},
});

afterEach(() => {
  nock.cleanAll();
});

describe('whatsapp-cloud: reading webhook payloads', () => {
  const read = (messages: object[], opts: { reactions: 'note' | 'ignore' } = { reactions: 'note' }) =>
    readChange(ChangeValue.parse((waChange({ contacts: [{ waId: '998900000001', name: 'Dilnoza' }], messages }) as { value: unknown }).value), opts);

  it('turns each message type into text and attachment references, with the profile name and phone as sender', () => {
    const at = Date.parse('2026-02-28T09:00:00Z');
    const events = read([
      waMessage.text('998900000001', 'Salom', 'wamid.T', at),
      waMessage.image('998900000001', 'img-1', 'wamid.I', undefined, at),
      { from: '998900000001', id: 'wamid.V', timestamp: '1772269200', type: 'audio', audio: { id: 'aud-1', mime_type: 'audio/ogg; codecs=opus', voice: true } },
      waMessage.document('998900000001', 'doc-1', 'wamid.D', 'statement.pdf'),
      { from: '998900000001', id: 'wamid.L', timestamp: '1772269200', type: 'location', location: { latitude: 41.31, longitude: 69.24, name: 'Chorsu', address: 'Tashkent' } },
      { from: '998900000001', id: 'wamid.C', timestamp: '1772269200', type: 'contacts', contacts: [{ name: { formatted_name: 'Aziz' }, phones: [{ phone: '+998 90 123 45 67' }] }] },
      { from: '998900000001', id: 'wamid.B', timestamp: '1772269200', type: 'interactive', interactive: { type: 'button_reply', button_reply: { id: 'kyc', title: 'Verification' } } },
      { from: '998900000001', id: 'wamid.Q', timestamp: '1772269200', type: 'button', button: { payload: 'STOP', text: 'Stop promotions' } },
      { from: '998900000001', id: 'wamid.S', timestamp: '1772269200', type: 'sticker', sticker: { id: 'st-1', mime_type: 'image/webp', animated: false } },
      { from: '998900000001', id: 'wamid.U', timestamp: '1772269200', type: 'unsupported', errors: [{ code: 131051, title: 'Message type unknown' }] },
    ]);
    const byId = new Map(events.drafts.map((d) => [d.externalId, d]));
    expect(events.drafts).toHaveLength(10);
    expect(byId.get('wamid.T')).toMatchObject({
      dedupeKey: 'wamid.T',
      conversation: { externalId: '998900000001' },
      sender: { externalId: '998900000001', displayName: 'Dilnoza', phone: '+998900000001' },
      text: 'Salom',
      occurredAt: '2026-02-28T09:00:00.000Z',
    });
    expect(byId.get('wamid.I')).toMatchObject({ text: '[image]', attachments: [{ source: 'img-1', mime: 'image/jpeg', name: 'image-img-1.jpg' }] });
    expect(byId.get('wamid.V')).toMatchObject({ text: '[voice message]', attachments: [{ source: 'aud-1', name: 'audio-aud-1.ogg' }] });
    expect(byId.get('wamid.D')).toMatchObject({ text: '[document: statement.pdf]', attachments: [{ name: 'statement.pdf', mime: 'application/pdf' }] });
    expect(byId.get('wamid.L')!.text).toBe('Location: Chorsu, Tashkent\n41.31, 69.24 https://maps.google.com/?q=41.31,69.24');
    expect(byId.get('wamid.C')!.text).toBe('Contact: Aziz, +998 90 123 45 67');
    expect(byId.get('wamid.B')).toMatchObject({ text: 'Verification', meta: { interactive: { type: 'button_reply', id: 'kyc' } } });
    expect(byId.get('wamid.Q')).toMatchObject({ text: 'Stop promotions', meta: { buttonPayload: 'STOP' } });
    expect(byId.get('wamid.S')).toMatchObject({ text: '[sticker]', attachments: [{ mime: 'image/webp' }] });
    expect(byId.get('wamid.U')!.text).toContain('131051 Message type unknown');
  });

  it('a reaction becomes a note (or nothing, by config); a removed reaction is nothing', () => {
    const reaction = waMessage.reaction('998900000001', 'wamid.OURS', '👍', 'wamid.R1');
    const removed = waMessage.reaction('998900000001', 'wamid.OURS', '', 'wamid.R2');
    const noted = read([reaction, removed]);
    expect(noted.drafts).toHaveLength(0);
    expect(noted.reactions).toEqual([{ conversation: '998900000001', emoji: '👍', messageId: 'wamid.OURS', key: 'reaction:wamid.R1' }]);
    expect(read([reaction], { reactions: 'ignore' }).reactions).toHaveLength(0);
  });

  it('a malformed message is skipped and named; the rest of the batch is kept', () => {
    const events = read([{ id: 'wamid.BAD', type: 'text' }, waMessage.text('998900000001', 'ok', 'wamid.OK')]);
    expect(events.drafts.map((d) => d.externalId)).toEqual(['wamid.OK']);
    expect(events.skipped[0]).toMatchObject({ id: 'wamid.BAD' });
    expect(events.skipped[0]!.reason).toContain('from');
  });
});

describe('whatsapp-cloud: webhook verification', () => {
  it('checks X-Hub-Signature-256 over the raw bytes, which Meta escapes; re-serialized JSON does not match', () => {
    const { body, headers } = signedWebhook(waPayload([[waChange({ messages: [waMessage.text('998900000001', 'Привет', 'wamid.X')] })]]), APP_SECRET);
    expect(body).toContain('\\u041f'); // П, escaped like Meta does
    const raw = Buffer.from(body);
    expect(signatureMatches(headers['x-hub-signature-256'], raw, APP_SECRET)).toBe(true);
    expect(signatureMatches(headers['x-hub-signature-256']!.toUpperCase().replace('SHA256=', 'sha256='), raw, APP_SECRET)).toBe(true);
    expect(signatureMatches(headers['x-hub-signature-256'], Buffer.from(JSON.stringify(JSON.parse(body))), APP_SECRET)).toBe(false);
    expect(signatureMatches(headers['x-hub-signature-256'], raw, 'another-secret-0000000000000000')).toBe(false);
    expect(signatureMatches(undefined, raw, APP_SECRET)).toBe(false);
  });

  it('the GET handshake echoes the challenge only for the right token', async () => {
    const { route } = setup();
    const get = (query: Record<string, string>) => route('GET').handler({ method: 'GET', url: '', headers: {}, query, rawBody: Buffer.alloc(0), body: undefined, files: [], ip: '' });
    expect(await get({ 'hub.mode': 'subscribe', 'hub.verify_token': 'verify-token-1', 'hub.challenge': '42' })).toMatchObject({ status: 200, body: '42' });
    expect((await get({ 'hub.mode': 'subscribe', 'hub.verify_token': 'nope', 'hub.challenge': '42' })).status).toBe(403);
    expect((await get({ 'hub.mode': 'unsubscribe', 'hub.verify_token': 'verify-token-1', 'hub.challenge': '42' })).status).toBe(400);
    expect((await get({ 'hub.mode': 'subscribe', 'hub.verify_token': 'verify-token-1', 'hub.challenge': '<script>' })).status).toBe(400);
  });

  it('accepts every message of every entry and change in ONE accept call, and skips other business numbers', async () => {
    const { route, acceptCalls } = setup();
    const payload = waPayload([
      [waChange({ messages: [waMessage.text('998900000001', 'a', 'wamid.1'), waMessage.text('998900000002', 'b', 'wamid.2')] })],
      [waChange({ messages: [waMessage.text('998900000001', 'c', 'wamid.3')] }), waChange({ phoneNumberId: '999', messages: [waMessage.text('1', 'x', 'wamid.other')] })],
    ]);
    const { body, headers } = signedWebhook(payload, APP_SECRET);
    expect((await callRoute(route('POST'), post(body, headers))).status).toBe(200);
    expect(acceptCalls).toEqual([['wamid.1', 'wamid.2', 'wamid.3']]);
  });

  it('answers 400 to a body that is not JSON, saying so', async () => {
    const { route, acceptCalls } = setup();
    const notJson = '{not json';
    const badJson = await callRoute(route('POST'), post(notJson, { 'x-hub-signature-256': signBody(Buffer.from(notJson), APP_SECRET) }));
    expect(badJson).toMatchObject({ status: 400 });
    expect(JSON.stringify(badJson.body)).toContain('body is not valid JSON');
    expect(acceptCalls).toHaveLength(0);
  });

  it('a failed status becomes a note on the conversation the wamid was sent to, with Meta\'s code and title; other statuses are silent', async () => {
    const { channel, route, kv, notes, putOff } = setup();
    await kv.set('wamid:wamid.SENT1', JSON.stringify({ conversation: '998900000009', replyId: '12:34', excerpt: 'Ваш вывод обработан' }));
    const payload = waPayload([[waChange({
      statuses: [
        { id: 'wamid.SENT1', status: 'delivered', timestamp: '1772269200', recipient_id: '998900000009' },
        failedStatus('wamid.SENT1', '998900000009', { code: 131049, title: 'This message was not delivered to maintain healthy ecosystem engagement.' }),
        failedStatus('wamid.UNKNOWN', '998900000010', { code: 131026, title: 'Message undeliverable' }),
      ],
    })]]);
    const { body, headers } = signedWebhook(payload, APP_SECRET);
    expect((await callRoute(route('POST'), post(body, headers))).status).toBe(200);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ conversation: '998900000009', dedupeKey: 'status:wamid.SENT1:failed' });
    expect(notes[0]!.text).toContain('"Ваш вывод обработан" was NOT delivered');
    expect(notes[0]!.text).toContain('error 131049: This message was not delivered');
    // A wamid the gateway has not indexed waits for the sends to its recipient; still unknown then, it is noted there.
    expect(putOff).toEqual([{ conversation: '998900000010', work: expect.objectContaining({ id: 'wamid.UNKNOWN' }), dedupeKey: 'status:wamid.UNKNOWN:failed' }]);
    await channel.afterSends!(putOff[0]!.conversation, putOff[0]!.work);
    expect(notes[1]).toMatchObject({ conversation: '998900000010', dedupeKey: 'status:wamid.UNKNOWN:failed' });
    expect(notes[1]!.text).toContain('error 131026: Message undeliverable');
  });

  it('131047 for a send whose wamid is not indexed yet: put off, then sent again as the template once the send has recorded it', async () => {
    const { channel, route, kv, notes, again, putOff } = setup({ template: { name: 'support_reply', language: 'ru' } });
    const status = failedStatus('wamid.INFLIGHT', '998900000011', { code: 131047, title: 'Re-engagement message' });
    const { body, headers } = signedWebhook(waPayload([[waChange({ statuses: [status] })]]), APP_SECRET);
    expect((await callRoute(route('POST'), post(body, headers))).status).toBe(200);
    expect(notes).toEqual([]);
    expect(putOff).toHaveLength(1);
    // The send finishes: its wamid is indexed; then the put-off status is decided.
    await recordSent(kv, 'wamid.INFLIGHT', { conversation: '998900000011', replyId: '12:35', excerpt: 'Бонус начислен.', text: 'Бонус начислен.' });
    await channel.afterSends!(putOff[0]!.conversation, putOff[0]!.work);
    expect(again).toEqual([{ conversation: '998900000011', reply: { text: 'Бонус начислен.', replyId: 'again:12:35' }, dedupeKey: '131047:12:35' }]);
    expect(notes).toHaveLength(1);
    expect(notes[0]!.text).toContain('the message "Бонус начислен." was NOT delivered');
    expect(notes[0]!.text).toContain('goes again as the approved template "support_reply"');
  });

  it('a reaction to one of our replies quotes the reply in the note', async () => {
    const { route, kv, notes } = setup();
    await kv.set('wamid:wamid.OURS', JSON.stringify({ conversation: '998900000001', replyId: '1:2', excerpt: 'Бонус начислен' }));
    const { body, headers } = signedWebhook(waPayload([[waChange({ messages: [waMessage.reaction('998900000001', 'wamid.OURS', '🙏', 'wamid.R')] })]]), APP_SECRET);
    await callRoute(route('POST'), post(body, headers));
    expect(notes).toEqual([{ conversation: '998900000001', dedupeKey: 'reaction:wamid.R', text: 'The customer reacted 🙏 on WhatsApp to the reply "Бонус начислен".' }]);
  });
});

describe('whatsapp-cloud: the 24-hour window and what a reply becomes', () => {
  const file = (name: string, mime: string, size: number) => ({ name, mime, data: Buffer.alloc(size) });
  const open = { open: true };
  const closed = windowState('2026-02-27T10:00:00Z', NOW);

  it('knows the window from lastInboundAt', () => {
    expect(windowState('2026-03-01T11:00:00Z', NOW).open).toBe(true);
    expect(closed.open).toBe(false);
    expect(windowState(undefined, NOW).open).toBe(true);
  });

  it('inside the window: text split at 4096 characters, files by type and size', () => {
    const text = `${'а'.repeat(4000)}\n\n${'б'.repeat(3000)}`;
    const plan = planReply({ text, files: [file('a.png', 'image/png', 100), file('big.png', 'image/png', 6 * 1024 * 1024), file('v.mp4', 'video/mp4', 10), file('x.zip', 'application/zip', 10), file('huge.bin', 'application/octet-stream', 101 * 1024 * 1024)] }, open, undefined, NOW);
    const texts = plan.parts.filter((p) => p.kind === 'text');
    expect(texts).toHaveLength(2);
    expect(texts.every((p) => p.kind === 'text' && p.text.length <= 4096)).toBe(true);
    expect(plan.parts.filter((p) => p.kind === 'media').map((p) => p.kind === 'media' && `${p.file.name}:${p.type}`)).toEqual(['a.png:image', 'big.png:document', 'v.mp4:video', 'x.zip:document']);
    expect(plan.notes).toEqual([expect.stringContaining('"huge.bin"')]);
  });

  it('outside the window: the template with the reply as its one-line parameter, files named in the note', () => {
    const plan = planReply({ text: 'Выигрыш зачислен.\n\nПроверьте\tбаланс.', files: [file('a.pdf', 'application/pdf', 10)] }, closed, { name: 'support_reply', language: 'ru', replyParameter: true }, NOW);
    expect(plan.parts).toEqual([{ kind: 'template', template: { name: 'support_reply', language: 'ru', replyParameter: true }, parameter: 'Выигрыш зачислен. Проверьте баланс.' }]);
    expect(plan.notes[0]).toMatch(/template "support_reply".*last wrote 50 hours ago.*a\.pdf/s);
  });

  it('outside the window without a template: nothing to send, a note saying why; with a parameterless template: the template and a note', () => {
    const none = planReply({ text: 'hi', files: [] }, closed, undefined, NOW);
    expect(none.parts).toEqual([]);
    expect(none.notes[0]).toMatch(/^This reply was NOT sent: the customer last wrote 50 hours ago.*no template is configured/);
    const bare = planReply({ text: 'hi', files: [] }, closed, { name: 'we_replied', language: 'en', replyParameter: false }, NOW);
    expect(bare.parts).toEqual([{ kind: 'template', template: { name: 'we_replied', language: 'en', replyParameter: false } }]);
    expect(bare.notes[0]).toMatch(/NOT sent.*"we_replied"/);
  });

  it('when Meta says the window is closed though the customer wrote minutes ago, the note says so, in minutes', () => {
    const recent = new Date(NOW.getTime() - 25 * 60_000).toISOString();
    const metaSays = windowState(recent, NOW, new Date(NOW.getTime() - 60_000));
    expect(metaSays).toMatchObject({ open: false, closedByMeta: true });
    const plan = planReply({ text: 'hi', files: [] }, metaSays, { name: 'support_reply', language: 'ru', replyParameter: true }, NOW);
    expect(plan.notes[0]).toContain('WhatsApp counts the 24-hour customer-service window as closed (error 131047), although by the gateway\'s clock the customer last wrote 25 minutes ago');
    expect(plan.notes[0]).not.toMatch(/\b0 hours/);
    // Once the customer writes after Meta's verdict, the window is theirs again.
    expect(windowState(new Date(NOW.getTime() - 30_000).toISOString(), NOW, new Date(NOW.getTime() - 60_000)).open).toBe(true);
  });

  it('a long template parameter is cut at the limit', () => {
    const p = templateParameter('x'.repeat(2000));
    expect(p.shortened).toBe(true);
    expect(p.text.length).toBe(TEMPLATE_PARAMETER_LIMIT);
    expect(templateParameter('a     b').text).toBe('a   b');
  });
});

describe('whatsapp-cloud: 131047 in a failed status', () => {
  const failed = (wamid: string) => ({ id: wamid, status: 'failed', timestamp: String(NOW.getTime() / 1000), recipient_id: '998900000001', errors: [{ code: 131047, title: 'Re-engagement message' }] });
  const TEMPLATE = { name: 'support_reply', language: 'ru', replyParameter: true };

  it('sends the reply again as the template, keyed by the reply, and marks the window closed', async () => {
    const kv = memoryKv();
    await recordSent(kv, 'wamid.A', { conversation: '998900000001', replyId: '42:900', excerpt: 'Бонус начислен.', text: 'Бонус начислен. Проверьте баланс.' });
    const outcome = await outcomeOfStatus(kv, failed('wamid.A'), TEMPLATE);
    expect(outcome?.again).toEqual({ text: 'Бонус начислен. Проверьте баланс.', replyId: 'again:42:900', key: '131047:42:900' });
    expect(outcome?.note.text).toContain('goes again as the approved template "support_reply" (ru)');
    expect(await metaClosedAt(kv, '998900000001')).toEqual(NOW);
  });

  it('without a template, or for a template that failed itself, nothing more is sent and the note says why', async () => {
    const kv = memoryKv();
    await recordSent(kv, 'wamid.B', { conversation: '998900000001', replyId: '42:901', excerpt: 'hi', text: 'hi' });
    const none = await outcomeOfStatus(kv, failed('wamid.B'), undefined);
    expect(none?.again).toBeUndefined();
    expect(none?.note.text).toContain('No template is configured');
    await recordSent(kv, 'wamid.C', { conversation: '998900000001', replyId: 'again:42:900', excerpt: '[template support_reply] hi', template: true });
    expect((await outcomeOfStatus(kv, failed('wamid.C'), TEMPLATE))?.again).toBeUndefined();
  });

  it('for a message the gateway has no record of, the note says so, not that no template is configured', async () => {
    const outcome = await outcomeOfStatus(memoryKv(), failed('wamid.UNKNOWN'), TEMPLATE);
    expect(outcome?.again).toBeUndefined();
    expect(outcome?.conversation).toBe('998900000001');
    expect(outcome?.note.text).toContain('no record of sending it');
    expect(outcome?.note.text).not.toContain('No template is configured');
  });
});

describe('whatsapp-cloud: sending through the Graph API', () => {
  const messagesPath = `/v23.0/${PHONE_NUMBER_ID}/messages`;
  const reply = (text: string, replyId = '77:1') => ({ text, files: [], replyId });

  it('posts a text message with the bearer token and records the wamid for status callbacks', async () => {
    const { channel, kvData } = setup();
    let seen: Record<string, unknown> | undefined;
    nock(GRAPH, { reqheaders: { authorization: `Bearer ${TOKEN}` } })
      .post(messagesPath, (b: Record<string, unknown>) => ((seen = b), true))
      .reply(200, { messaging_product: 'whatsapp', contacts: [{ input: '998900000001', wa_id: '998900000001' }], messages: [{ id: 'wamid.OUT1' }] });
    const result = await channel.send(conversation('998900000001', '2026-03-01T11:00:00Z'), reply('Здравствуйте'));
    expect(result).toEqual({ externalIds: ['wamid.OUT1'] });
    expect(seen).toMatchObject({ messaging_product: 'whatsapp', recipient_type: 'individual', to: '998900000001', type: 'text', text: { body: 'Здравствуйте', preview_url: false } });
    expect(JSON.parse(kvData.get('wamid:wamid.OUT1')!)).toMatchObject({ conversation: '998900000001', replyId: '77:1', excerpt: 'Здравствуйте' });
  });

  it('when Meta says the window is closed (131047), the reply goes as the template instead', async () => {
    const { channel } = setup({ template: { name: 'support_reply', language: 'ru' } });
    const types: string[] = [];
    nock(GRAPH).post(messagesPath, (b: { type: string }) => (types.push(b.type), true))
      .reply(400, { error: { message: '(#131047) Re-engagement message', type: 'OAuthException', code: 131047, error_data: { messaging_product: 'whatsapp', details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.' } } });
    nock(GRAPH).post(messagesPath, (b: { type: string }) => (types.push(b.type), true)).reply(200, { messages: [{ id: 'wamid.TPL' }] });
    const result = await channel.send(conversation('998900000001'), reply('Ответ'));
    expect(types).toEqual(['text', 'template']);
    expect(result.externalIds).toEqual(['wamid.TPL']);
    expect(result.notes?.join(' ')).toContain('131047');
  });

  it("sorts Meta's errors: rate limits wait, 5xx retry, the rest is permanent with Meta's body verbatim", async () => {
    const { channel } = setup();
    const to = conversation('998900000001');
    const refusal = '{"error":{"message":"(#100) Invalid parameter","type":"OAuthException","code":100,"error_data":{"messaging_product":"whatsapp","details":"Parameter value is not valid"},"fbtrace_id":"AbC"}}';
    nock(GRAPH).post(messagesPath).reply(400, refusal);
    const permanent = await channel.send(to, reply('x', 'r1')).catch((e: unknown) => e);
    expect(permanent).toBeInstanceOf(DeliveryError);
    expect(permanent).toMatchObject({ kind: 'permanent', status: 400, detail: refusal });
    expect((permanent as Error).message).toContain('(#100) Invalid parameter — Parameter value is not valid');

    nock(GRAPH).post(messagesPath).reply(400, { error: { message: '(#131056) (Business Account, Consumer Account) pair rate limit hit', code: 131056 } });
    await expect(channel.send(to, reply('x', 'r2'))).rejects.toMatchObject({ kind: 'rate_limited', retryAfterMs: 6000 });
    nock(GRAPH).post(messagesPath).reply(429, { error: { message: 'Too many calls', code: 80007 } }, { 'retry-after': '30' });
    await expect(channel.send(to, reply('x', 'r3'))).rejects.toMatchObject({ kind: 'rate_limited', retryAfterMs: 30_000 });
    nock(GRAPH).post(messagesPath).reply(503, 'upstream unavailable');
    await expect(channel.send(to, reply('x', 'r4'))).rejects.toMatchObject({ kind: 'retry', status: 503, detail: 'upstream unavailable' });
    nock(GRAPH).post(messagesPath).reply(401, { error: { message: 'Error validating access token: Session has expired', type: 'OAuthException', code: 190 } });
    const expired = await channel.send(to, reply('x', 'r5')).catch((e: unknown) => e as Error);
    expect(expired).toMatchObject({ kind: 'permanent' });
    expect((expired as Error).message).toMatch(/System User token/);
    expect((expired as Error).message).not.toContain(TOKEN);
  });

  it('media: id → URL → bytes with the token; an oversize file is refused before download', async () => {
    const { channel } = setup({ maxFileBytes: 1000 });
    // The media link is on the configured Graph origin here (nock answers it); a link elsewhere goes through the guarded fetch's address checks.
    nock(GRAPH, { reqheaders: { authorization: `Bearer ${TOKEN}` } }).get('/v23.0/img-1').reply(200, { url: `${GRAPH}/lookaside/dl?mid=1`, mime_type: 'image/jpeg', file_size: '5', id: 'img-1' });
    nock(GRAPH, { reqheaders: { authorization: `Bearer ${TOKEN}` } }).get('/lookaside/dl').query({ mid: '1' }).reply(200, Buffer.from('JPEG!'));
    const file = await channel.fetchAttachment({ name: 'image-img-1.jpg', mime: 'image/jpeg', source: 'img-1' });
    expect(file.data.toString()).toBe('JPEG!');

    nock(GRAPH).get('/v23.0/big-1').reply(200, { url: `${GRAPH}/lookaside/dl?mid=2`, mime_type: 'video/mp4', file_size: '5000', id: 'big-1' });
    const big = await channel.fetchAttachment({ name: 'video.mp4', mime: 'video/mp4', source: 'big-1' }).catch((e: unknown) => e);
    expect(big).toMatchObject({ kind: 'permanent' });
    expect((big as Error).message).toMatch(/video\.mp4.*over the limit/);
    expect(nock.pendingMocks()).toEqual([]);
  });
});
