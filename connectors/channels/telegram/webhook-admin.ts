import type { WebhookInfo } from '@grammyjs/types';
import { createApi } from './api.ts';
import { telegramError } from './errors.ts';
import type { TelegramOptions } from './options.ts';

export interface SetWebhookArgs {
  /** The gateway's public base URL (server.publicUrl). */
  publicUrl: string;
  channelId: string;
  /** Drop the updates Telegram is still holding. */
  drop?: boolean;
  /** Delete the webhook instead (to switch to polling). */
  remove?: boolean;
}

/**
 * `switchboard telegram set-webhook`: points Telegram at `${publicUrl}/webhooks/${channelId}`
 * with the secret token. Returns a summary for a human; the tokens are never in it.
 */
export async function setWebhook(options: TelegramOptions, args: SetWebhookArgs): Promise<string> {
  const api = createApi(options);
  const drop = args.drop ?? false;
  const dropped = drop ? '; pending updates dropped' : '';
  if (args.remove) {
    try {
      await api.deleteWebhook({ drop_pending_updates: drop });
    } catch (err) {
      throw telegramError('deleteWebhook', err, options.token);
    }
    return `webhook removed${dropped}; the bot can now use polling`;
  }
  if (!options.secretToken) {
    throw new Error('secretToken is required to set a webhook: without it anyone could post updates to the gateway');
  }
  const url = webhookUrl(args.publicUrl, args.channelId);
  try {
    await api.setWebhook(url, {
      secret_token: options.secretToken,
      allowed_updates: options.allowedUpdates,
      drop_pending_updates: drop,
    });
  } catch (err) {
    throw telegramError('setWebhook', err, options.token);
  }
  return `webhook set to ${url} for ${options.allowedUpdates.join(', ')} (secret token in the X-Telegram-Bot-Api-Secret-Token header)${dropped}`;
}

export function webhookUrl(publicUrl: string, channelId: string): string {
  let base: URL;
  try {
    base = new URL(publicUrl);
  } catch {
    throw new Error(`publicUrl is not a URL: ${JSON.stringify(publicUrl)}`);
  }
  const path = base.pathname.replace(/\/+$/, '');
  return `${base.origin}${path}/webhooks/${encodeURIComponent(channelId)}`;
}

/** What Telegram knows about the webhook: where it points, what is pending, the last error. */
export async function webhookInfo(options: Pick<TelegramOptions, 'token' | 'apiRoot' | 'pollingTimeoutSec'>): Promise<WebhookInfo> {
  try {
    return await createApi(options).getWebhookInfo();
  } catch (err) {
    throw telegramError('getWebhookInfo', err, options.token);
  }
}

/** One line per fact, for the CLI. */
export function formatWebhookInfo(info: WebhookInfo): string {
  const lines = [`url: ${info.url || '(none: polling possible)'}`, `pending updates: ${info.pending_update_count}`];
  if (info.allowed_updates) lines.push(`allowed updates: ${info.allowed_updates.join(', ')}`);
  if (info.last_error_date) {
    lines.push(`last error: ${new Date(info.last_error_date * 1000).toISOString()} ${info.last_error_message ?? ''}`.trimEnd());
  }
  return lines.join('\n');
}
