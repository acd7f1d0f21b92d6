import { createTelegramChannel } from '../../../connectors/channels/telegram/channel.ts';
import { TelegramOptions } from '../../../connectors/channels/telegram/options.ts';
import { startFakeTelegram, tgUpdate } from '../../fakes/telegram-server.ts';
import { channelContract } from '../channel-contract.ts';

const TOKEN = '123456789:AAcontract-telegram-token-000000';
const CHAT = 777002;

/**
 * Telegram in polling mode: updates fetched with getUpdates and confirmed by the next call's
 * offset. A redelivery is the same message in a later update (the confirmation was lost).
 * Sending is the same as in webhook mode (telegram.test.ts).
 */
channelContract({
  kind: 'telegram',
  label: 'telegram (polling)',
  notApplicable: {
    secret: 'in polling mode the gateway calls Telegram with the bot token; nobody sends it a request to authenticate',
    badShape: 'an update Telegram returns that is not one is logged and skipped, never refused (see telegram-normalize tests)',
  },
  async start() {
    const tg = await startFakeTelegram({ token: TOKEN });
    let updateId = 50_000;
    return {
      create: (ctx) => createTelegramChannel(TelegramOptions.parse({ token: TOKEN, mode: 'polling', apiRoot: tg.apiRoot, pollingTimeoutSec: 1 }), ctx, {
        pace: { privateIntervalMs: 0, groupIntervalMs: 0 },
        backoff: { initialMs: 5, maxMs: 50 },
      }),
      inbound: {
        via: 'fetch',
        deliver: (n) => tg.pushUpdate(tgUpdate.text(CHAT, `вопрос ${n}`, { updateId: ++updateId, messageId: n })),
        acknowledged: () => tg.confirmed,
      },
      outbound: {
        conversation: () => ({ channelId: 'inbox', externalId: String(CHAT), sender: { externalId: String(CHAT) } }),
        received: () => tg.sent.filter((m) => m.chat_id === String(CHAT)).map((m) => m.text ?? ''),
        failSend: (after) => tg.failNext('sendMessage', 1, { error_code: 502, description: 'Bad Gateway' }, { after }),
      },
      reset: () => tg.reset(),
      close: () => tg.close(),
    };
  },
});
