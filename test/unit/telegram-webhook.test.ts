import { describe, expect, it } from 'vitest';
import { definition } from '../../connectors/channels/telegram/index.ts';
import { createTelegramChannel } from '../../connectors/channels/telegram/channel.ts';
import { TelegramOptions } from '../../connectors/channels/telegram/options.ts';
import type { InboundRequest, RouteSpec } from '../../src/core/connector.ts';
import { channelContext } from '../fixtures/channel-context.ts';
import { callRoute } from '../fixtures/route.ts';

const TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';
const SECRET = 'wh_secret-0123456789';

function setup() {
  const rec = channelContext({ channelId: 'tg' });
  const options = TelegramOptions.parse({ token: TOKEN, secretToken: SECRET, apiRoot: 'http://127.0.0.1:9' });
  const channel = createTelegramChannel(options, rec.ctx);
  const route = channel.routes?.[0] as RouteSpec;
  return { rec, route };
}

function request(body: string | object, headers: Record<string, string> = { 'x-telegram-bot-api-secret-token': SECRET }): InboundRequest {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  return {
    method: 'POST',
    url: '',
    headers: { 'content-type': 'application/json', ...headers },
    query: {},
    rawBody: Buffer.from(raw),
    body: parsed,
    files: [],
    ip: '127.0.0.1',
  };
}

/** What the contract checks for every channel (ack after store, 401, 503, bad shapes) is in test/contract/channels/telegram.test.ts. */
describe('telegram webhook route', () => {
  it('is POST at the channel\'s mount point', () => {
    const { route } = setup();
    expect(route).toMatchObject({ method: 'POST', path: '' });
  });

  it('answers 400 naming the problem for invalid JSON or a non-update', async () => {
    const { rec, route } = setup();
    const bad = await callRoute(route, request('{"update_id": 1, "message": '));
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: expect.stringMatching(/^not a Telegram update: body is not valid JSON: /) });
    const notUpdate = await callRoute(route, request({ update_id: 'seven' }));
    expect(notUpdate).toMatchObject({ status: 400, body: { error: expect.stringContaining('update_id') } });
    expect(rec.stored()).toEqual([]);
  });

  it('answers 200 to updates it does not handle, and stores nothing', async () => {
    const { rec, route } = setup();
    const res = await callRoute(route, request({ update_id: 77, channel_post: { message_id: 1, date: 1, chat: { id: -1, type: 'channel' } } }));
    expect(res.status).toBe(200);
    expect(rec.stored()).toEqual([]);
    expect(rec.logs.some((l) => l.level === 'debug' && JSON.stringify(l.obj).includes('channel_post'))).toBe(true);
  });
});

describe('telegram options', () => {
  it('require secretToken in webhook mode, naming the field', () => {
    const r = definition.options.safeParse({ token: TOKEN });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['secretToken']);
    expect(r.error?.issues[0]?.message).toMatch(/required in webhook mode/);
  });

  it('apply the documented defaults in polling mode', () => {
    expect(definition.options.parse({ token: TOKEN, mode: 'polling' })).toEqual({
      token: TOKEN,
      mode: 'polling',
      apiRoot: 'https://api.telegram.org',
      maxFileBytes: 20 * 1024 * 1024,
      pollingTimeoutSec: 30,
      allowedUpdates: ['message', 'edited_message', 'callback_query'],
    });
  });

  it('reject a bad secret token, token or update type without echoing the secret', () => {
    const r = definition.options.safeParse({ token: 'not-a-token', secretToken: 'has spaces!', allowedUpdates: ['mesage'] });
    const issues = r.error?.issues ?? [];
    expect(issues.map((i) => i.path.join('.')).sort()).toEqual(['allowedUpdates.0', 'secretToken', 'token']);
    expect(JSON.stringify(issues)).not.toContain('has spaces!');
    expect(JSON.stringify(issues)).not.toContain('not-a-token');
  });

  it('declare token, secretToken and playerLinkSecret as secrets', () => {
    expect(definition.secrets).toEqual(['token', 'secretToken', 'playerLinkSecret']);
  });

  it('mount no route in polling mode', () => {
    const rec = channelContext();
    const channel = createTelegramChannel(TelegramOptions.parse({ token: TOKEN, mode: 'polling' }), rec.ctx);
    expect(channel.routes).toBeUndefined();
  });
});
