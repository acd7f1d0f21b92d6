import { afterEach, describe, expect, it } from 'vitest';
import { createTelegramChannel } from '../../connectors/channels/telegram/channel.ts';
import { TelegramOptions } from '../../connectors/channels/telegram/options.ts';
import { TELEGRAM_PACE } from '../../connectors/channels/telegram/pace.ts';
import type { ChannelInstance } from '../../src/core/connector.ts';
import { startFakeTelegram, tgUpdate, type FakeTelegram } from '../fakes/telegram-server.ts';
import { channelContext } from '../fixtures/channel-context.ts';
import { waitFor } from '../fixtures/wait.ts';

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
  const rec = channelContext({ channelId: 'tg' });
  const options = TelegramOptions.parse({ token: TOKEN, mode: 'polling', apiRoot: fake.apiRoot, pollingTimeoutSec: timeoutSec });
  channel = createTelegramChannel(options, rec.ctx, FAST);
  return { fake, rec, channel };
}

const getUpdatesCalls = (f: FakeTelegram) => f.calls.filter((c) => c.method === 'getUpdates');

describe('telegram polling', () => {
  it('a button press is stored with its choice, then answered (answerCallbackQuery), also in polling mode', async () => {
    const { fake, rec, channel } = await polling();
    await channel.start?.();
    fake.pushUpdate(tgUpdate.callbackQuery(42, 'csat:01J00000000000000000000000:5', { updateId: 600, queryId: 'press-1' }));
    await waitFor('the answered callback query', () => fake.answeredCallbacks.includes('press-1'));
    expect(rec.stored()).toEqual([expect.objectContaining({ kind: 'event', choice: 'csat:01J00000000000000000000000:5', dedupeKey: 'cb:press-1' })]);
  });

  it('long-polls for the configured update types and says it is connected (storing and confirming: the contract)', async () => {
    const { fake, rec, channel } = await polling();
    await channel.start?.();
    fake.pushUpdate(tgUpdate.photo(43, { fileId: 'ph', caption: 'a photo' }, { updateId: 501, messageId: 2 }));
    await waitFor('the stored photo', () => rec.stored().length === 1);
    expect(rec.stored()[0]).toMatchObject({ externalId: '43:2', text: 'a photo' });
    expect(getUpdatesCalls(fake)[0]?.params).toMatchObject({ timeout: 1, allowed_updates: ['message', 'edited_message', 'callback_query'] });
    expect(channel.status?.()).toEqual({ ready: true, state: 'connected', facts: { mode: 'polling' } });
  });

  it('says how to fix a webhook that blocks polling, and does not remove it itself', async () => {
    const { fake, rec, channel } = await polling();
    fake.webhook = { url: 'https://prod.example.com/webhooks/tg' };
    await channel.start?.();
    await waitFor('a getUpdates attempt', () => getUpdatesCalls(fake).length >= 1);
    await waitFor('a 409 status', () => channel.status?.().ready === false && /409|Conflict/.test(channel.status?.().detail ?? ''));
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
    await waitFor('the update after two failures', () => rec.stored().length === 1);
    expect(rec.logs.filter((l) => l.level === 'error')).toHaveLength(2);
    expect(JSON.stringify(rec.logs)).not.toContain(TOKEN.split(':')[1]);
  });

  it('stops promptly in the middle of a long poll', async () => {
    const { fake, channel } = await polling(30);
    await channel.start?.();
    await waitFor('the long poll to start', () => getUpdatesCalls(fake).length >= 1);
    await channel.stop?.();
    expect(channel.status?.()).toMatchObject({ ready: false, detail: 'stopped' });
  });
});
