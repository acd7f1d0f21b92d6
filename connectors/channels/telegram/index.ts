import { defineChannel } from '../../../src/core/connector.ts';
import { createTelegramChannel } from './channel.ts';
import { TELEGRAM_SECRETS, TelegramOptions } from './options.ts';

/** Telegram through the Bot API (grammY): webhook or long polling in, sendMessage/sendPhoto/sendDocument out. */
export const definition = defineChannel({
  kind: 'telegram',
  options: TelegramOptions,
  secrets: TELEGRAM_SECRETS,
  create: (options, ctx) => createTelegramChannel(options, ctx),
});

export { TelegramOptions } from './options.ts';
export { formatWebhookInfo, setWebhook, webhookInfo, webhookUrl, type SetWebhookArgs } from './webhook-admin.ts';
export { normalizeUpdate } from './normalize.ts';
