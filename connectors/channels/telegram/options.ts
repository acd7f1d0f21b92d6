import type { Update } from '@grammyjs/types';
import { z } from 'zod';

/** The Bot API's own limit on what a bot may download (getFile). */
export const BOT_API_DOWNLOAD_LIMIT = 20 * 1024 * 1024;

/** Update types of the Bot API (checked against @grammyjs/types, so a typo fails at config load). */
const UPDATE_TYPES = [
  'message', 'edited_message', 'channel_post', 'edited_channel_post', 'business_connection', 'business_message',
  'edited_business_message', 'deleted_business_messages', 'guest_message', 'stopped_message_generation',
  'message_reaction', 'message_reaction_count', 'inline_query', 'chosen_inline_result', 'callback_query',
  'shipping_query', 'pre_checkout_query', 'purchased_paid_media', 'poll', 'poll_answer', 'my_chat_member',
  'chat_member', 'chat_join_request', 'chat_boost', 'removed_chat_boost', 'managed_bot', 'subscription',
] as const satisfies readonly Exclude<keyof Update, 'update_id'>[];

const SECRET_TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

export const TelegramOptions = z
  .object({
    token: z
      .string()
      // Checked for shape only, so a pasted chat id or a stray quote is caught at load time.
      .regex(/^\d+:[A-Za-z0-9_-]+$/, 'expected the token BotFather gave you (digits, a colon, then letters)')
      .describe('bot token from @BotFather (secret)'),
    mode: z.enum(['webhook', 'polling']).default('webhook')
      .describe('webhook: Telegram POSTs to /webhooks/{channelId}; polling: the gateway calls getUpdates'),
    secretToken: z
      .string()
      .regex(SECRET_TOKEN, '1–256 characters of A-Z a-z 0-9 _ -')
      .optional()
      .describe('sent by Telegram in X-Telegram-Bot-Api-Secret-Token on every webhook call (secret)'),
    apiRoot: z
      .url()
      .regex(/[^/]$/, 'remove the trailing "/"')
      .default('https://api.telegram.org')
      .describe('Bot API root: a self-hosted Bot API server, or a fake in tests'),
    maxFileBytes: z.number().int().positive().default(BOT_API_DOWNLOAD_LIMIT)
      .describe('largest inbound file fetched; the public Bot API serves at most 20 MB'),
    pollingTimeoutSec: z.number().int().min(0).max(50).default(30)
      .describe('long-polling timeout of getUpdates, in seconds'),
    playerLinkSecret: z.string().min(16, 'must be at least 16 characters')
      .optional()
      .describe("secret the operator's site signs deep-link player tokens with (t.me/<bot>?start=<token>, docs/identity.md); unset: /start links nothing (secret)"),
    allowedUpdates: z.array(z.enum(UPDATE_TYPES)).default(['message', 'edited_message', 'callback_query'])
      .describe('update types Telegram sends us; message and edited_message become tickets, callback_query carries button presses (ratings)'),
  })
  .superRefine((o, ctx) => {
    if (o.mode === 'webhook' && o.secretToken === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['secretToken'],
        message: 'secretToken is required in webhook mode (1–256 characters of A-Z a-z 0-9 _ -), so that only Telegram can post updates',
      });
    }
  });

export type TelegramOptions = z.infer<typeof TelegramOptions>;

export const TELEGRAM_SECRETS = ['token', 'secretToken', 'playerLinkSecret'];
