import { afterEach, describe, expect, it } from 'vitest';
import { createTelegramChannel } from '../../connectors/channels/telegram/channel.ts';
import { TelegramOptions } from '../../connectors/channels/telegram/options.ts';
import { TELEGRAM_PACE } from '../../connectors/channels/telegram/pace.ts';
import type { ChannelInstance } from '../../src/core/connector.ts';
import { recordingContext, startFakeTelegram, tgUpdate, type FakeTelegram } from '../fakes/telegram-server.ts';

const TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';
const FAST = { pace: TELEGRAM_PACE, backoff: { initialMs: 5, maxMs: 20 } };

let fake: FakeTelegram | undefined;
let channel: ChannelInstance | undefined;

afterEach(async () => {
  await channel?.stop?.();
  await fake?.close();
  channel = undefined;
  fake = undefined;
});

async function polling(timeoutSec = 1) {
  fake = await startFakeTelegram({ token: TOKEN });
  const rec = recordingContext('tg');
  const options = TelegramOptions.parse({ token: TOKEN, mode: 'polling', apiRoot: fake.apiRoot, pollingTimeoutSec: timeoutSec });
  channel = createTelegramChannel(options, rec.ctx, FAST);
  return { fake, rec, channel };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const getUpdatesCalls = (f: FakeTelegram) => f.calls.filter((c) => c.method === 'getUpdates');

describe('telegram polling', () => {
  it('a button press is stored with its choice, then answered (answerCallbackQuery), also in polling mode', async () => {
    const { fake, rec, channel } = await polling();
    await channel.start?.();
    fake.pushUpdate(tgUpdate.callbackQuery(42, 'csat:01J00000000000000000000000:5', { updateId: 600, queryId: 'press-1' }));
    await until(() => fake.answeredCallbacks.includes('press-1'), 'the answered callback query');
    expect(rec.stored()).toEqual([expect.objectContaining({ kind: 'event', choice: 'csat:01J00000000000000000000000:5', dedupeKey: 'cb:press-1' })]);
  });

  it('stores every update once and confirms it to Telegram afterwards', async () => {
    const { fake, rec, channel } = await polling();
    await channel.start?.();
    fake.pushUpdate(tgUpdate.text(42, 'first', { updateId: 500, messageId: 1 }));
    fake.pushUpdate(tgUpdate.photo(43, { fileId: 'ph', caption: 'second' }, { updateId: 501, messageId: 2 }));
    await until(() => rec.stored().length === 2, 'two stored messages');
    await until(() => getUpdatesCalls(fake).some((c) => c.params.offset === 502), 'offset 502');
    expect(rec.stored().map((d) => [d.externalId, d.text])).toEqual([['42:1', 'first'], ['43:2', 'second']]);
    expect(rec.acceptCalls.flat()).toEqual(['42:1', '43:2']);
    expect(getUpdatesCalls(fake)[0]?.params).toMatchObject({ timeout: 1, allowed_updates: ['message', 'edited_message', 'callback_query'] });
    expect(channel.status?.()).toEqual({ ready: true, state: 'connected', facts: { mode: 'polling' } });
  });

  it('fetches an update again when storing it failed, and advances only after it is stored', async () => {
    const { fake, rec, channel } = await polling();
    rec.failAccepts(1);
    fake.pushUpdate(tgUpdate.text(42, 'must not be lost', { updateId: 900, messageId: 5 }));
    await channel.start?.();
    await until(() => rec.stored().length === 1, 'the update stored on the second try');
    await until(() => getUpdatesCalls(fake).some((c) => c.params.offset === 901), 'offset 901');

    const offsets = getUpdatesCalls(fake).map((c) => c.params.offset);
    // Two fetches without an offset (the failed store, then the retry) before the confirmation.
    expect(offsets.slice(0, 3)).toEqual([undefined, undefined, 901]);
    expect(rec.stored().map((d) => d.text)).toEqual(['must not be lost']);
    expect(rec.acceptCalls).toEqual([['42:5'], ['42:5']]);
    expect(rec.logs.some((l) => l.level === 'error' && JSON.stringify(l.obj).includes('store unavailable'))).toBe(true);
  });

  it('says how to fix a webhook that blocks polling, and does not remove it itself', async () => {
    const { fake, rec, channel } = await polling();
    fake.webhook = { url: 'https://prod.example.com/webhooks/tg' };
    await channel.start?.();
    await until(() => getUpdatesCalls(fake).length >= 1, 'a getUpdates attempt');
    await until(() => channel.status?.().ready === false && /409|Conflict/.test(channel.status?.().detail ?? ''), 'a 409 status');
    const status = channel.status?.();
    expect(status?.detail).toContain('switchboard telegram set-webhook --delete');
    expect(rec.logs.some((l) => l.level === 'error' && l.msg?.includes('set-webhook --delete'))).toBe(true);
    expect(fake.calls.some((c) => c.method === 'deleteWebhook')).toBe(false);
    expect(fake.webhook).toBeDefined();
  });

  it('recovers after Telegram errors and keeps no token in what it logs', async () => {
    const { fake, rec, channel } = await polling();
    fake.failNext('getUpdates', 2, { error_code: 502, description: 'Bad Gateway' });
    fake.pushUpdate(tgUpdate.text(42, 'after the outage', { updateId: 10 }));
    await channel.start?.();
    await until(() => rec.stored().length === 1, 'the update after two failures');
    expect(rec.logs.filter((l) => l.level === 'error')).toHaveLength(2);
    expect(JSON.stringify(rec.logs)).not.toContain(TOKEN.split(':')[1]);
  });

  it('stops promptly in the middle of a long poll', async () => {
    const { fake, channel } = await polling(30);
    await channel.start?.();
    await until(() => getUpdatesCalls(fake).length >= 1, 'the long poll to start');
    await channel.stop?.();
    expect(channel.status?.()).toMatchObject({ ready: false, detail: 'stopped' });
  });
});
