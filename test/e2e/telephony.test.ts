import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { twilioWebhook } from '../fakes/twilio-server.ts';
import { CREDENTIALS, withGateway, yaml } from '../fixtures/gateway.ts';
import { waitFor } from './harness.ts';

/**
 * Phone calls through the real gateway process into a fake Zendesk: Twilio Voice (signed with
 * the twilio package's own helper, against the public URL the gateway is configured with, not
 * the loopback address the test posts to, as behind a proxy), a Zammad-style CTI PBX, and a
 * Mango Office PBX through the generic webhook channel.
 */

const { accountSid: ACCOUNT, authToken: TW_TOKEN } = CREDENTIALS.twilio;
const CTI_TOKEN = 'cti-shared-secret-e2e-0123';
const MANGO_KEY = 'mango-key-e2e-0001';
const MANGO_SALT = 'mango-salt-e2e-0001';
const PUBLIC = 'https://support-gw.example.com';
const LINE = '+998712000000';

describe('phone calls into Zendesk (real gateway process)', () => {
  const t = withGateway({
    fakes: { zendesk: true, twilio: true },
    env: { CTI_TOKEN, MANGO_KEY, MANGO_SALT },
    config: ({ dataDir }) => `
${yaml.base({ dataDir, publicUrl: PUBLIC })}
${yaml.zendesk()}
channels:
${yaml.twilio('phone', "    dial:\n      to: [{ to: '+998712000101', agent: Alice }]")}
  pbx:
    kind: cti
    auth: { mode: header, header: X-CTI-Token, secret: "\${CTI_TOKEN}" }
  mango:
    kind: webhook
    preset: mango
    auth: { mode: mango, apiKey: "\${MANGO_KEY}", apiSalt: "\${MANGO_SALT}" }
rules:
  - name: phone
    when: { kind: [call, voicemail] }
    set: { tags: [phone] }
`,
  });
  const zd = () => t.fakes.zendesk;
  const tw = () => t.fakes.twilio;

  /** A Twilio callback as Twilio sends it: form body, signed for the public URL. */
  async function twilio(path: string, params: Record<string, string>, query = ''): Promise<{ status: number; body: string }> {
    const url = `/webhooks/phone${path}${query}`;
    const { body, headers } = twilioWebhook(TW_TOKEN, `${PUBLIC}${url}`, params);
    const res = await fetch(`${t.gw.url}${url}`, { method: 'POST', body, headers });
    return { status: res.status, body: await res.text() };
  }
  const call = (sid: string, from: string, over: Record<string, string> = {}) =>
    ({ AccountSid: ACCOUNT, CallSid: sid, From: from, To: LINE, Direction: 'inbound', CallStatus: 'ringing', ApiVersion: '2010-04-01', ...over });
  const status = (sid: string, from: string, seq: number, s: string, over: Record<string, string> = {}) =>
    twilio('/status', call(sid, from, { CallStatus: s, SequenceNumber: String(seq), CallbackSource: 'call-progress-events', ...over }));

  it('Twilio: a voicemail whose callbacks come out of order and twice makes one ticket with the recording; the next, answered call is a private call log on it', async () => {
    const caller = '+998901112233';
    const audio = Buffer.from('ID3\u0004fake-mp3-voicemail-audio');
    tw().addRecording('RE00000000000000000000000000000001', audio);
    const recording = {
      AccountSid: ACCOUNT, CallSid: 'CA100', RecordingSid: 'RE00000000000000000000000000000001',
      RecordingUrl: tw().recordingUrl('RE00000000000000000000000000000001'), RecordingStatus: 'completed',
      RecordingDuration: '12', RecordingSource: 'RecordVerb', RecordingChannels: '1',
    };

    const voice = await twilio('', call('CA100', caller));
    expect(voice.status).toBe(200);
    expect(voice.body).toContain(`<Dial timeout="20" action="${PUBLIC}/webhooks/phone/dial"`);
    const dial = await twilio('/dial', call('CA100', caller, { DialCallStatus: 'no-answer', CallStatus: 'in-progress' }));
    expect(dial.body).toContain('<Record ');
    // The callbacks race each other: the end and the recording before the progress events, then all of them again.
    expect((await status('CA100', caller, 2, 'completed', { CallDuration: '35' })).status).toBe(200);
    expect((await twilio('/recording', recording)).status).toBe(200);
    await status('CA100', caller, 0, 'ringing');
    await status('CA100', caller, 1, 'in-progress');
    await twilio('/recording', recording);
    await status('CA100', caller, 2, 'completed', { CallDuration: '35' });

    const ticket = await waitFor('the missed-call ticket with the voicemail', () => {
      const t = zd().tickets.find((x) => x.comments.some((c) => c.uploads.length > 0));
      return t && t.comments.some((c) => c.body.includes('Missed call')) ? t : undefined;
    });
    const requester = zd().users.find((u) => u.id === ticket.requester_id)!;
    expect(requester.phone).toBe(caller);
    expect(requester.external_id).toBe(`phone:${caller}`);
    expect(ticket.tags).toContain('phone');
    const withAudio = ticket.comments.find((c) => c.uploads.length > 0)!;
    expect(withAudio.uploads).toHaveLength(1);
    expect(withAudio.uploads[0]!.data.equals(audio)).toBe(true);
    expect(withAudio.body).toContain(`Voicemail from ${caller}`);
    expect(tw().requests.filter((r) => r.path.endsWith('.mp3')).every((r) => r.authorized)).toBe(true);

    // The same caller again; Alice answers this time.
    await twilio('', call('CA200', caller));
    await twilio('/status', call('CA201', caller, { ParentCallSid: 'CA200', To: '+998712000101', Direction: 'outbound-dial', CallStatus: 'in-progress' }), '?agent=Alice');
    await twilio('/dial', call('CA200', caller, { DialCallStatus: 'completed', DialCallDuration: '95', CallStatus: 'in-progress' }));
    await status('CA200', caller, 3, 'completed', { CallDuration: '110' });
    const log = await waitFor('the call log', () => ticket.comments.find((c) => c.body.includes('Answered by: Alice')));
    expect(log.public).toBe(false);
    expect(log.body).toContain('Talk time: 1:35');

    await t.settled();
    const callerTickets = zd().tickets.filter((t) => t.requester_id === ticket.requester_id);
    expect(callerTickets).toHaveLength(1);
    expect(ticket.comments.filter((c) => c.body.includes('Missed call'))).toHaveLength(1);
    expect(ticket.comments.filter((c) => c.uploads.length > 0)).toHaveLength(1);
  });

  it('Twilio: a request not signed for the public URL is refused', async () => {
    const url = '/webhooks/phone';
    const { body, headers } = twilioWebhook(TW_TOKEN, `${t.gw.url}${url}`, call('CA300', '+998905550000'));
    const res = await fetch(`${t.gw.url}${url}`, { method: 'POST', body, headers });
    expect(res.status).toBe(401);
  });

  it('CTI: a Zammad-style newCall/hangup pair with no answer makes a missed-call ticket; a wrong secret is refused and not logged', async () => {
    const caller = '+998907778899';
    const headers = { 'x-cti-token': CTI_TOKEN };
    const ev = { callId: 'pbx-777', from: caller, to: LINE, direction: 'in' };
    expect((await t.gw.post('/webhooks/pbx', { event: 'newCall', ...ev, user: ['Alice', 'Bob'] }, headers)).status).toBe(200);
    expect((await t.gw.post('/webhooks/pbx', { event: 'hangup', ...ev, cause: 'noAnswer' }, headers)).status).toBe(200);
    const ticket = await waitFor('the missed-call ticket', () => zd().tickets.find((t) => t.comments[0]?.body.includes(`Missed call from ${caller}`)));
    expect(ticket.subject).toBe(`Missed call from ${caller}`);
    expect(ticket.comments[0]!.public).toBe(true);
    expect(zd().users.find((u) => u.id === ticket.requester_id)!.phone).toBe(caller);

    const refused = await t.gw.post('/webhooks/pbx', { event: 'newCall', ...ev, callId: 'pbx-778' }, { 'x-cti-token': 'guessed-secret-value' });
    expect(refused.status).toBe(401);
    expect(t.gw.output).not.toContain(CTI_TOKEN);
    expect(t.gw.output).not.toContain(TW_TOKEN);
  });

  it('Mango Office through the generic webhook channel: a signed call summary makes a ticket, a tampered one is refused', async () => {
    const before = zd().tickets.length;
    const json = JSON.stringify({
      entry_id: 'MTAwMDAwMDAwMQ==', call_direction: 1, from: { number: '79161234567' }, to: { number: '74951234567', extension: '101' },
      line_number: '74951234567', create_time: 1767225600, talk_time: 0, end_time: 1767225625, entry_result: 0, disconnect_reason: 1110,
    });
    // Mango's recipe written out here: sha256 hex of key + json + salt.
    const sign = createHash('sha256').update(MANGO_KEY + json + MANGO_SALT).digest('hex');
    const form = (j: string) => new URLSearchParams({ vpbx_api_key: MANGO_KEY, sign, json: j }).toString();
    const post = (body: string) => fetch(`${t.gw.url}/webhooks/mango/events/summary`, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });

    const tampered = await post(form(json.replace('"talk_time":0', '"talk_time":1')));
    expect(tampered.status).toBe(401);
    expect((await post(form(json))).status).toBe(200);
    expect((await post(form(json))).status).toBe(200);
    const ticket = await waitFor('the Mango ticket', () => zd().tickets.find((t) => t.comments[0]?.body.includes('Missed call from 79161234567')));
    expect(ticket.comments[0]!.body).toBe('Missed call from 79161234567 to 74951234567 (line 74951234567), disconnect reason 1110.');
    await t.settled();
    expect(zd().tickets.length).toBe(before + 1);
  });
});
