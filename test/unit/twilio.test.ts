import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChannelContext, ChannelInstance, HttpResponse, InboundRequest } from '../../src/core/connector.ts';
import { DeliveryError } from '../../src/core/errors.ts';
import { definition as twilioVoice } from '../../connectors/channels/twilio-voice/index.ts';
import { startFakeTwilio, twilioWebhook, type FakeTwilio } from '../fakes/twilio-server.ts';
import { callRoute } from '../fixtures/route.ts';
import { memoryKv } from '../../src/runtime/memory-kv.ts';
import { channelContext, type FakeChannelContext } from '../fixtures/channel-context.ts';

/** What the contract checks for every channel (ack after store, 401, 503, bad shapes) is in test/contract/channels/twilio-voice.test.ts. */

const ACCOUNT = `AC${'a1'.repeat(16)}`;
const TOKEN = 'twilio-auth-token-0123456789abcdef';
const PUBLIC = 'https://support-gw.example.com';
const CALLER = '+998901234567';
const LINE = '+998712000000';
let rec: FakeChannelContext;
const ctx = (): ChannelContext => rec.ctx;

describe('twilio-voice channel', () => {
  let fake: FakeTwilio;
  let ch: ChannelInstance;

  beforeAll(async () => {
    fake = await startFakeTwilio({ accountSid: ACCOUNT, authToken: TOKEN });
  });
  afterAll(() => fake.close());

  const create = (over: Record<string, unknown> = {}) =>
    twilioVoice.create(twilioVoice.options.parse({ accountSid: ACCOUNT, authToken: TOKEN, apiBaseUrl: fake.url, ...over }), ctx());

  beforeEach(async () => {
    rec = channelContext({ channelId: 'phone', publicUrl: PUBLIC });
    ch = await create({ dial: { to: [{ to: '+998712000101', agent: 'Alice' }, 'client:bob'] } });
  });

  it('docs/telephony.md names every route the channel mounts', async () => {
    const { readFile } = await import('node:fs/promises');
    const doc = await readFile(new URL('../../docs/telephony.md', import.meta.url), 'utf8');
    const missing = ch.routes!.map((r) => `/webhooks/phone${r.path}`).filter((url) => !doc.includes(`${url}\``) && !doc.includes(`${url}?`));
    expect(missing).toEqual([]);
  });

  /** Posts to /webhooks/phone{path}{query}, signed by the twilio package for the public URL (or `signFor`). */
  async function hook(path: string, params: Record<string, string>, o: { query?: string; signFor?: string; token?: string } = {}): Promise<HttpResponse> {
    const url = `/webhooks/phone${path}${o.query ?? ''}`;
    const { body, headers } = twilioWebhook(o.token ?? TOKEN, o.signFor ?? `${PUBLIC}${url}`, params);
    const route = ch.routes!.find((r) => r.path === path)!;
    const req: InboundRequest = {
      method: 'POST', url, headers, query: Object.fromEntries(new URL(url, 'http://x').searchParams),
      rawBody: Buffer.from(body), body: undefined, files: [], ip: '127.0.0.1',
    };
    return callRoute(route, req);
  }

  const callParams = (sid: string, over: Record<string, string> = {}) => ({
    AccountSid: ACCOUNT, CallSid: sid, From: CALLER, To: LINE, Direction: 'inbound', ApiVersion: '2010-04-01', CallStatus: 'ringing', ...over,
  });
  const status = (sid: string, seq: number, s: string, over: Record<string, string> = {}) =>
    hook('/status', callParams(sid, { CallStatus: s, SequenceNumber: String(seq), CallbackSource: 'call-progress-events', ...over }));

  it('checks X-Twilio-Signature against the public URL, not the address the request reached', async () => {
    const ok = await hook('', callParams('CA01'));
    expect(ok.status).toBe(200);
    const internal = await hook('', callParams('CA01'), { signFor: 'http://10.0.0.5:8080/webhooks/phone' });
    expect(internal.status).toBe(401);
    const wrongToken = await hook('', callParams('CA01'), { token: 'someone-elses-token-000000000000' });
    expect(wrongToken.status).toBe(401);
    const route = ch.routes!.find((r) => r.path === '')!;
    const unsigned = await callRoute(route, {
      method: 'POST', url: '/webhooks/phone', headers: {}, query: {}, rawBody: Buffer.from(new URLSearchParams(callParams('CA01')).toString()), body: undefined, files: [], ip: '1.2.3.4',
    });
    expect(unsigned.status).toBe(401);
  });

  it('rings the agents, each reporting who answered, and falls back to voicemail', async () => {
    const voice = await hook('', callParams('CA02'));
    expect(voice.headers?.['content-type']).toContain('text/xml');
    const xml = String(voice.body);
    expect(xml).toContain(`<Dial timeout="20" action="${PUBLIC}/webhooks/phone/dial" method="POST">`);
    expect(xml).toContain(`<Number statusCallback="${PUBLIC}/webhooks/phone/status?agent=Alice" statusCallbackEvent="answered">+998712000101</Number>`);
    expect(xml).toContain('<Client statusCallback=');
    const dial = String((await hook('/dial', callParams('CA02', { DialCallStatus: 'no-answer', CallStatus: 'in-progress' }))).body);
    expect(dial).toContain('<Say language="en-US">Sorry, no one can take your call right now.');
    expect(dial).toContain(`<Record maxLength="120" playBeep="true" action="${PUBLIC}/webhooks/phone/voicemail" method="POST" recordingStatusCallback="${PUBLIC}/webhooks/phone/recording"/>`);
    const answered = String((await hook('/dial', callParams('CA03', { DialCallStatus: 'completed', DialCallDuration: '30' }))).body);
    expect(answered).toContain('<Hangup/>');
  });

  it('a voicemail call whose callbacks arrive out of order and twice makes one missed call and one recording', async () => {
    fake.addRecording('RE0001', Buffer.from('ID3-voicemail-bytes'));
    await hook('', callParams('CA10'));
    await hook('/dial', callParams('CA10', { DialCallStatus: 'no-answer', CallStatus: 'in-progress' }));
    await hook('/voicemail', callParams('CA10', { RecordingUrl: fake.recordingUrl('RE0001'), RecordingDuration: '14', Digits: 'hangup' }));
    const recording = { AccountSid: ACCOUNT, CallSid: 'CA10', RecordingSid: 'RE0001', RecordingUrl: fake.recordingUrl('RE0001'), RecordingStatus: 'completed', RecordingDuration: '14', RecordingSource: 'RecordVerb', RecordingChannels: '1' };
    // Out of order: the recording and the end before the ringing and answered progress events; then everything again.
    await hook('/recording', recording);
    await status('CA10', 3, 'completed', { CallDuration: '41' });
    await status('CA10', 0, 'ringing');
    await status('CA10', 1, 'in-progress');
    await status('CA10', 3, 'completed', { CallDuration: '41' });
    await hook('/recording', recording);

    expect(rec.stored().map((d) => d.dedupeKey)).toEqual(['CA10:recording:RE0001', 'CA10:end']);
    expect(new Set(rec.stored().map((d) => d.conversation.externalId))).toEqual(new Set([CALLER]));
    const [voicemail, missed] = rec.stored();
    expect(voicemail).toMatchObject({ kind: 'voicemail', text: `Voicemail from ${CALLER} (0:14).`, sender: { phone: CALLER } });
    expect(voicemail!.private).toBeUndefined();
    expect(missed).toMatchObject({ kind: 'call', text: `Missed call from ${CALLER} to ${LINE}: no answer. The caller was offered voicemail.` });

    const file = await ch.fetchAttachment(voicemail!.attachments![0]!);
    expect(file).toMatchObject({ name: 'recording-RE0001.mp3', mime: 'audio/mpeg' });
    expect(file.data.toString()).toBe('ID3-voicemail-bytes');
    expect(fake.requests.at(-1)).toEqual({ path: `/2010-04-01/Accounts/${ACCOUNT}/Recordings/RE0001.mp3`, authorized: true });
  });

  it('an answered call is one private call log naming the agent who took it and the talk time', async () => {
    await hook('', callParams('CA20'));
    await hook('/status', callParams('CA21', { ParentCallSid: 'CA20', To: '+998712000101', Direction: 'outbound-dial', CallStatus: 'in-progress' }), { query: '?agent=Alice' });
    await hook('/dial', callParams('CA20', { DialCallStatus: 'completed', DialCallDuration: '125', DialCallSid: 'CA21' }));
    await status('CA20', 2, 'completed', { CallDuration: '140' });
    await status('CA20', 2, 'completed', { CallDuration: '140' });
    expect(rec.stored()).toHaveLength(1);
    expect(rec.stored()[0]).toMatchObject({
      kind: 'call',
      private: true,
      text: `Phone call (inbound) from ${CALLER} to ${LINE}\nAnswered by: Alice\nTalk time: 2:05`,
      call: { direction: 'inbound', status: 'answered', agent: 'Alice', durationSec: 125 },
    });
  });

  it('a late or stale progress event does not turn a missed call with voicemail into an answered one', async () => {
    await hook('', callParams('CA60'));
    await hook('/dial', callParams('CA60', { DialCallStatus: 'no-answer', CallStatus: 'in-progress' }));
    await status('CA60', 4, 'completed', { CallDuration: '20' });
    // An agent leg reporting an answer after the call ended, and an older progress event, change nothing.
    await hook('/status', callParams('CA61', { ParentCallSid: 'CA60', To: '+998712000101', Direction: 'outbound-dial', CallStatus: 'in-progress' }), { query: '?agent=Alice' });
    await status('CA60', 2, 'in-progress');
    await hook('/recording', { AccountSid: ACCOUNT, CallSid: 'CA60', RecordingSid: 'RE0060', RecordingUrl: fake.recordingUrl('RE0060'), RecordingStatus: 'completed', RecordingDuration: '5' });
    expect(rec.stored().map((d) => [d.kind, d.private ?? false])).toEqual([['call', false], ['voicemail', false]]);
    expect(rec.stored()[0]!.text).toMatch(/^Missed call/);
  });

  it("a recording that arrives before anything else about its call finds the caller through Twilio's API", async () => {
    fake.addCall('CA30', { from: '+998935550000', to: LINE, direction: 'inbound' });
    await hook('/recording', { AccountSid: ACCOUNT, CallSid: 'CA30', RecordingSid: 'RE0030', RecordingUrl: fake.recordingUrl('RE0030'), RecordingStatus: 'completed', RecordingDuration: '9', RecordingSource: 'RecordVerb' });
    expect(rec.stored()[0]).toMatchObject({ kind: 'voicemail', conversation: { externalId: '+998935550000' } });
  });

  it('adds a transcription as the caller\'s words', async () => {
    await hook('', callParams('CA40'));
    await hook('/transcription', { AccountSid: ACCOUNT, CallSid: 'CA40', TranscriptionSid: 'TR01', TranscriptionStatus: 'completed', TranscriptionText: 'Please call me back about my withdrawal', RecordingSid: 'RE40' });
    expect(rec.stored()[0]).toMatchObject({ kind: 'voicemail', text: `Voicemail from ${CALLER}, transcribed: Please call me back about my withdrawal`, call: { transcript: 'Please call me back about my withdrawal' } });
  });

  it('refuses another account\'s events and sends credentials nowhere but the Twilio API', async () => {
    const other = await hook('', callParams('CA50', { AccountSid: `AC${'b2'.repeat(16)}` }));
    expect(other.status).toBe(400);
    const err = await ch.fetchAttachment({ name: 'r.mp3', mime: 'audio/mpeg', source: 'https://evil.example.com/rec.mp3' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect((err as DeliveryError).kind).toBe('permanent');
    expect(fake.requests.some((r) => r.path.includes('evil'))).toBe(false);
  });

  it('keeps a live call going when its state cannot be rec.stored() (callbacks get a 503: the contract)', async () => {
    const broken = { ...ctx(), kv: { ...memoryKv(), get: async () => { throw new Error('disk gone'); } } };
    ch = await twilioVoice.create(twilioVoice.options.parse({ accountSid: ACCOUNT, authToken: TOKEN, apiBaseUrl: fake.url }), broken);
    const voice = await hook('', callParams('CA70'));
    expect(voice.status).toBe(200);
    expect(String(voice.body)).toContain('<Record ');
  });

  it('needs a public URL to check signatures against', async () => {
    const noUrl = { ...ctx(), publicUrl: undefined };
    await expect(Promise.resolve().then(() => twilioVoice.create(twilioVoice.options.parse({ accountSid: ACCOUNT, authToken: TOKEN }), noUrl))).rejects.toThrow(/publicUrl/);
  });

  it('check() proves the credentials with a call lookup', async () => {
    await expect(ch.check!()).resolves.toContain(ACCOUNT);
    const bad = await create({ authToken: 'wrong-token-000000000000' });
    await expect(bad.check!()).rejects.toMatchObject({ kind: 'permanent', status: 401 });
  });
});
