import { UsageError, type ChannelCommand } from '../../../src/core/connector.ts';
import type { TelegramOptions } from './options.ts';

/** `switchboard telegram set-webhook`: register, inspect or remove the bot's webhook. */
export const setWebhookCommand: ChannelCommand<TelegramOptions> = {
  name: 'set-webhook',
  description: 'register server.publicUrl + /webhooks/<channel> with Telegram, with the secret token',
  flags: [
    { flags: '--delete', description: 'remove the webhook (to use polling)' },
    { flags: '--drop-pending', description: 'drop updates Telegram is holding' },
    { flags: '--info', description: 'only show what Telegram has' },
  ],
  async run({ channelId, options, publicUrl, flags }) {
    // Loaded on use, like the channel itself: grammY is not paid for by other commands.
    const { formatWebhookInfo, setWebhook, webhookInfo } = await import('./webhook-admin.ts');
    if (flags['info']) return formatWebhookInfo(await webhookInfo(options));
    const remove = flags['delete'] === true;
    if (!remove && !publicUrl) throw new UsageError('server.publicUrl is not set: Telegram needs the public HTTPS address of this gateway');
    return setWebhook(options, { publicUrl: publicUrl ?? '', channelId, drop: flags['dropPending'] === true, remove });
  },
};
