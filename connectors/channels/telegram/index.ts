import { defineChannel } from '../../../src/core/connector.ts';
import { setWebhookCommand } from './commands.ts';
import { TELEGRAM_SECRETS, TelegramOptions } from './options.ts';

/** Telegram through the Bot API (grammY): webhook or long polling in, sendMessage (with inline buttons)/sendPhoto/sendDocument out. */
export const definition = defineChannel({
  kind: 'telegram',
  medium: 'messenger',
  network: 'telegram',
  sends: ['text', 'files', 'buttons'],
  options: TelegramOptions,
  secrets: TELEGRAM_SECRETS,
  commands: [setWebhookCommand],
  // Loaded on first use: a gateway without this connector never pays for its libraries' memory.
  create: async (options, ctx) => (await import('./channel.ts')).createTelegramChannel(options, ctx),
});

export { TelegramOptions } from './options.ts';
export { normalizeUpdate } from './normalize.ts';
