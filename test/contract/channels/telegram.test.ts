import { definition } from '../../../connectors/channels/telegram/index.ts';
import { startFakeTelegram, tgUpdate } from '../../fakes/telegram-server.ts';
import { CHANNEL_ID, channelContract } from '../channel-contract.ts';

const TOKEN = '123456789:AAcontract-telegram-token-000000';
const SECRET = 'contract-secret_0123456789';
const CHAT = 777001;

/** Telegram in webhook mode: updates POSTed with the secret token header; replies through the Bot API. */
channelContract({
  kind: 'telegram',
  async start() {
    const tg = await startFakeTelegram({ token: TOKEN });
    const update = (n: number) => JSON.stringify(tgUpdate.text(CHAT, `вопрос ${n}`, { updateId: 10_000 + n, messageId: n }));
    const hook = (n: number, headers: Record<string, string>) => ({
      path: `/webhooks/${CHANNEL_ID}`,
      headers: { 'content-type': 'application/json', ...headers },
      body: update(n),
    });
    return {
      create: (ctx) => definition.create(definition.options.parse({ token: TOKEN, secretToken: SECRET, apiRoot: tg.apiRoot }), ctx),
      inbound: {
        via: 'http',
        event: (n) => hook(n, { 'x-telegram-bot-api-secret-token': SECRET }),
        forged: (n, how) => hook(n, how === 'wrong' ? { 'x-telegram-bot-api-secret-token': `${SECRET}x` } : {}),
        badShape: () => ({
          request: { path: `/webhooks/${CHANNEL_ID}`, headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET }, body: JSON.stringify({ update_id: 'seven' }) },
          field: 'update_id',
        }),
      },
      outbound: {
        conversation: () => ({ channelId: CHANNEL_ID, externalId: String(CHAT), sender: { externalId: String(CHAT) } }),
        received: () => tg.sent.filter((m) => m.chat_id === String(CHAT)).map((m) => m.text ?? m.caption ?? ''),
        failSend: (after) => tg.failNext('sendMessage', 1, { error_code: 502, description: 'Bad Gateway' }, { after }),
      },
      reset: () => tg.reset(),
      close: () => tg.close(),
    };
  },
});
