import { beforeEach, describe, expect, it } from 'vitest';
import type { ChannelInstance, InboundRequest } from '../../src/core/connector.ts';
import type { InboundDraft } from '../../src/core/message.ts';
import { definition as cti } from '../../connectors/channels/cti/index.ts';
import { normalizePhone } from '../../src/kit/telephony/phone.ts';
import { channelContext, type FakeChannelContext } from '../fixtures/channel-context.ts';

/** What the contract checks for every channel (ack after store, 401, 503, bad shapes) is in test/contract/channels/cti.test.ts. */
import { callRoute } from '../fixtures/route.ts';

const TOKEN = 'cti-url-token-0123456789';

let fake: FakeChannelContext;
const stored = (): InboundDraft[] => fake.stored();

async function pbx(options: Record<string, unknown> = {}): Promise<ChannelInstance> {
  return cti.create(cti.options.parse({ auth: { mode: 'query', secret: TOKEN }, ...options }), fake.ctx);
}

function req(body: Record<string, unknown> | string, o: { token?: string; form?: boolean; headers?: Record<string, string> } = {}): InboundRequest {
  const raw = typeof body === 'string' ? body : o.form ? new URLSearchParams(body as Record<string, string>).toString() : JSON.stringify(body);
  return {
    method: 'POST',
    url: `/webhooks/pbx?token=${o.token ?? TOKEN}`,
    headers: { 'content-type': o.form ? 'application/x-www-form-urlencoded' : 'application/json', ...o.headers },
    query: { token: o.token ?? TOKEN },
    rawBody: Buffer.from(raw),
    body: undefined,
    files: [],
    ip: '127.0.0.1',
  };
}

const send = (ch: ChannelInstance, body: Record<string, unknown> | string, o?: Parameters<typeof req>[1]) => callRoute(ch.routes![0]!, req(body, o));
const call = { callId: 'c-100', from: '+998 90 123-45-67', to: '998712000000', direction: 'in' };

describe('cti channel (Zammad generic CTI API)', () => {
  beforeEach(() => {
    fake = channelContext({ channelId: 'pbx' });
  });

  it('a newCall then hangup with no answer is one missed-call message from the caller, keyed by their number', async () => {
    const ch = await pbx();
    expect(await send(ch, { event: 'newCall', ...call, user: ['Alice', 'Bob'] })).toMatchObject({ status: 200, body: {} });
    expect(stored()).toHaveLength(0);
    await send(ch, { event: 'hangup', ...call, cause: 'noAnswer' });
    expect(stored()).toHaveLength(1);
    expect(stored()[0]).toMatchObject({
      kind: 'call',
      dedupeKey: 'c-100:end',
      conversation: { externalId: '+998901234567', subject: 'Missed call from +998901234567' },
      sender: { externalId: '+998901234567', phone: '+998901234567' },
      text: 'Missed call from +998901234567 to 998712000000: no answer.',
      call: { direction: 'inbound', status: 'no-answer' },
    });
    expect(stored()[0]!.private).toBeUndefined();
  });

  it('a hangup with normalClearing but no answer is missed too (the PBX hung up on a ringing call)', async () => {
    const ch = await pbx();
    await send(ch, { event: 'newCall', ...call });
    await send(ch, { event: 'hangup', ...call, cause: 'normalClearing' });
    expect(stored()[0]).toMatchObject({ text: expect.stringMatching(/^Missed call/), call: { status: 'no-answer' } });
  });

  it('an answered call is a private call log with direction, agent and talk time; repeats change nothing', async () => {
    const ch = await pbx();
    await send(ch, { event: 'newCall', ...call });
    await send(ch, { event: 'answer', ...call, user: 'Alice Agent', answeringNumber: '101' });
    await send(ch, { event: 'hangup', ...call, cause: 'normalClearing' });
    await send(ch, { event: 'hangup', ...call, cause: 'normalClearing' });
    await send(ch, { event: 'answer', ...call, user: 'Late Larry' });
    expect(stored()).toHaveLength(1);
    expect(stored()[0]).toMatchObject({ kind: 'call', private: true, call: { status: 'answered', agent: 'Alice Agent' } });
    expect(stored()[0]!.text).toMatch(/^Phone call \(inbound\) from \+998901234567 to 998712000000\nAnswered by: Alice Agent\nTalk time: 0:0\d$/);
  });

  it('an outbound call is logged on the customer it was made to, with the calling agent', async () => {
    const ch = await pbx();
    const out = { callId: 'c-200', from: '101', to: '+998 90 765 43 21', direction: 'out' };
    await send(ch, { event: 'newCall', ...out, user: 'Bob' });
    await send(ch, { event: 'hangup', ...out, cause: 'busy' });
    expect(stored()[0]).toMatchObject({
      private: true,
      conversation: { externalId: '+998907654321' },
      text: 'Phone call (outbound) to +998907654321 from 101\nNot answered: busy\nAgent: Bob',
    });
  });

  it('a forwarded call leaves nothing; an anonymous caller gets a conversation of their own', async () => {
    const ch = await pbx();
    await send(ch, { event: 'hangup', ...call, cause: 'forwarded' });
    expect(stored()).toHaveLength(0);
    await send(ch, { event: 'hangup', callId: 'c-300', from: 'anonymous', to: '998712000000', direction: 'in', cause: 'cancel' });
    expect(stored()[0]).toMatchObject({ conversation: { externalId: 'call:c-300' }, sender: { externalId: 'anonymous', displayName: 'Anonymous caller' } });
    expect(stored()[0]!.text).toContain('hung up before anyone answered');
  });

  it('with callLog: off only missed calls are kept', async () => {
    const ch = await pbx({ callLog: 'off' });
    await send(ch, { event: 'answer', ...call, user: 'Alice' });
    await send(ch, { event: 'hangup', ...call, cause: 'normalClearing' });
    expect(stored()).toHaveLength(0);
  });

  it('takes form bodies with user[] lists and call_id, as PBXes send them', async () => {
    const ch = await pbx();
    const form = new URLSearchParams([['event', 'answer'], ['call_id', 'c-400'], ['from', '+998901234567'], ['to', '998712000000'], ['direction', 'in'], ['user[]', 'Alice'], ['user[]', 'Bob']]).toString();
    expect((await send(ch, form, { form: true })).status).toBe(200);
    await send(ch, { event: 'hangup', callId: 'c-400', from: '+998901234567', to: '998712000000', direction: 'in', cause: 'normalClearing' });
    expect(stored()[0]).toMatchObject({ call: { agent: 'Alice, Bob', status: 'answered' } });
  });

  it('names a missing callId, and answers a broken body with 400', async () => {
    const ch = await pbx();
    expect(await send(ch, { event: 'hangup', from: '1', to: '2', direction: 'in' })).toMatchObject({ status: 422, body: { error: 'callId: is required' } });
    expect((await send(ch, '{"event":')).status).toBe(400);
    expect(stored()).toHaveLength(0);
  });

  it('refuses a wrong URL token without saying what the right one is', async () => {
    const ch = await pbx();
    const res = await send(ch, { event: 'newCall', ...call }, { token: 'guess' });
    expect(res.status).toBe(401);
    expect(JSON.stringify(res.body)).not.toContain(TOKEN);
  });
});

describe('normalizePhone', () => {
  it('makes one key of the ways a number is written, and none of a withheld one', () => {
    expect(normalizePhone('+998 (90) 123-45-67')).toBe('+998901234567');
    expect(normalizePhone('00998901234567')).toBe('+998901234567');
    expect(normalizePhone('tel:+998901234567')).toBe('+998901234567');
    expect(normalizePhone('89161234567')).toBe('89161234567');
    expect(normalizePhone('anonymous')).toBeUndefined();
    expect(normalizePhone('+266696687')).toBeUndefined();
    expect(normalizePhone('client:alice')).toBeUndefined();
  });
});
