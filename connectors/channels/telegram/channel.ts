import type { Api } from 'grammy';
import type { ChannelAction, ChannelContext, ChannelInspection, ChannelInstance, ChannelStatus, Logger } from '../../../src/core/connector.ts';
import { createApi } from './api.ts';
import { downloadAttachment } from './download.ts';
import { telegramError } from './errors.ts';
import { normalizeUpdate } from './normalize.ts';
import type { TelegramOptions } from './options.ts';
import { ChatPacer, TELEGRAM_PACE, type PaceOptions } from './pace.ts';
import { POLLING_BACKOFF, UpdatePoller } from './polling.ts';
import { sendReply } from './send.ts';
import type { TgUpdate } from './update.ts';
import { setWebhook, webhookUrl } from './webhook-admin.ts';
import { webhookRoute } from './webhook.ts';

/** Knobs that are Telegram's facts in production and only shortened by tests. */
export interface TelegramTuning {
  pace: PaceOptions;
  backoff: { initialMs: number; maxMs: number };
}

const DEFAULT_TUNING: TelegramTuning = { pace: TELEGRAM_PACE, backoff: POLLING_BACKOFF };

export function createTelegramChannel(
  options: TelegramOptions,
  ctx: ChannelContext,
  tuning: TelegramTuning = DEFAULT_TUNING,
): ChannelInstance {
  const api = createApi(options);
  const log = ctx.log.child({ channel: ctx.channelId, kind: 'telegram' });
  const channelCtx = { accept: acceptAndAnswer(api, ctx, log, options.token), log };
  const normalize = (update: TgUpdate) => normalizeUpdate(update, { maxFileBytes: options.maxFileBytes, playerLinkSecret: options.playerLinkSecret });
  const pacer = new ChatPacer(tuning.pace);

  const poller = options.mode === 'polling'
    ? new UpdatePoller({
      api,
      token: options.token,
      ctx: channelCtx,
      normalize,
      timeoutSec: options.pollingTimeoutSec,
      allowedUpdates: options.allowedUpdates,
      backoff: tuning.backoff,
    })
    : undefined;

  const expectedUrl = ctx.publicUrl ? webhookUrl(ctx.publicUrl, ctx.channelId) : undefined;
  const instance: ChannelInstance = {
    // Telegram answers a second getUpdates of the same bot with 409 Conflict.
    exclusive: poller !== undefined,
    async start() {
      if (poller) await poller.start();
      else if (ctx.publicUrl) void checkWebhookRegistration(api, log, webhookUrl(ctx.publicUrl, ctx.channelId), options.token);
    },
    async stop() {
      await poller?.stop();
    },
    status(): ChannelStatus {
      if (!poller) return { ready: true, state: 'receiving', facts: { mode: 'webhook' } };
      const s = poller.status();
      const state = s.ready ? 'connected' : s.detail === 'starting' || s.detail === 'not started' ? 'connecting' : s.detail === 'stopped' ? 'stopped' : 'error';
      return { ...s, state, facts: { mode: 'polling' } };
    },
    inspect: () => inspectWebhook(api, options, expectedUrl),
    actions: webhookActions(options, ctx),
    send(to, reply) {
      return sendReply({ api, kv: ctx.kv, pacer, channelId: ctx.channelId, token: options.token }, to, reply);
    },
    fetchAttachment(ref) {
      return downloadAttachment(
        { api, token: options.token, apiRoot: options.apiRoot, maxFileBytes: options.maxFileBytes },
        ref,
      );
    },
    async check() {
      try {
        const me = await api.getMe();
        return `bot @${me.username}`;
      } catch (err) {
        throw telegramError('getMe', err, options.token);
      }
    },
  };
  if (options.mode === 'webhook' && options.secretToken !== undefined) {
    instance.routes = [webhookRoute({ secretToken: options.secretToken, ctx: channelCtx, normalize })];
  }
  return instance;
}

/**
 * Stores updates; then, for button presses, answers the callback query so the customer's app
 * stops its spinner. Only after storing: a press that was not stored is redelivered by Telegram
 * (and answered then). The answer is best effort: a failure is logged, the press is kept.
 */
function acceptAndAnswer(api: Api, ctx: ChannelContext, log: Logger, token: string): ChannelContext['accept'] {
  return async (drafts) => {
    const outcomes = await ctx.accept(drafts);
    for (const d of drafts) {
      const id = d.meta?.['callbackQueryId'];
      if (typeof id !== 'string') continue;
      await api.answerCallbackQuery(id).catch((err: unknown) => {
        log.warn({ error: telegramError('answerCallbackQuery', err, token).message }, 'could not answer a button press; the press is stored');
      });
    }
    return outcomes;
  };
}

/**
 * Webhook mode only receives if Telegram was told where to post. Warn the operator when it
 * was not (or points elsewhere, or Telegram reports failed deliveries); never change it here.
 */
async function checkWebhookRegistration(api: Api, log: Logger, expected: string, token: string): Promise<void> {
  try {
    const info = await api.getWebhookInfo();
    if (info.url !== expected) {
      log.warn(
        { expected, registered: info.url || null },
        'Telegram does not post updates to this gateway; run `switchboard telegram set-webhook`',
      );
    } else if (info.last_error_message) {
      log.warn({ lastError: info.last_error_message, pending: info.pending_update_count }, 'Telegram reports failed webhook deliveries');
    }
  } catch (err) {
    log.warn({ error: telegramError('getWebhookInfo', err, token).message }, 'could not read the Telegram webhook registration');
  }
}

const HOUR_MS = 3_600_000;

/** Telegram's view of the webhook, against what this channel's mode expects. */
async function inspectWebhook(api: Api, options: TelegramOptions, expected: string | undefined): Promise<ChannelInspection> {
  let info;
  try {
    info = await api.getWebhookInfo();
  } catch (err) {
    return { problem: `could not ask Telegram: ${telegramError('getWebhookInfo', err, options.token).message}`, facts: {} };
  }
  const facts: Record<string, string> = {
    'webhook at Telegram': info.url || '(none)',
    'updates waiting at Telegram': String(info.pending_update_count),
  };
  const lastErrorAt = info.last_error_date ? info.last_error_date * 1000 : undefined;
  if (lastErrorAt) facts['Telegram\'s last delivery error'] = `${new Date(lastErrorAt).toISOString()} ${info.last_error_message ?? ''}`.trim();
  let problem: string | undefined;
  if (options.mode === 'polling') {
    if (info.url) problem = 'Telegram has a webhook set for this bot, so polling gets 409 Conflict: delete the webhook';
  } else {
    facts['matches publicUrl'] = expected === undefined ? 'unknown (server.publicUrl is not set)' : info.url === expected ? 'yes' : 'no';
    if (expected !== undefined && info.url !== expected) {
      problem = info.url
        ? `Telegram posts this bot's updates to ${info.url}, not to this gateway (${expected}): register the webhook`
        : 'no webhook is registered with Telegram, so no updates arrive: register the webhook';
    } else if (lastErrorAt && Date.now() - lastErrorAt < HOUR_MS) {
      problem = `Telegram could not deliver updates to the webhook: ${info.last_error_message ?? 'no reason given'}`;
    }
  }
  return problem === undefined ? { facts } : { problem, facts };
}

/** The console's buttons for `switchboard telegram set-webhook` (and `--delete` for polling bots). */
function webhookActions(options: TelegramOptions, ctx: ChannelContext): ChannelAction[] {
  if (options.mode === 'polling') {
    return [{
      name: 'delete-webhook',
      label: 'Delete the webhook',
      description: 'Tells Telegram to stop posting to a webhook, so this gateway can poll (switchboard telegram set-webhook --delete).',
      run: () => setWebhook(options, { publicUrl: ctx.publicUrl ?? '', channelId: ctx.channelId, remove: true }),
    }];
  }
  const publicUrl = ctx.publicUrl;
  if (!publicUrl) return [];
  return [{
    name: 'set-webhook',
    label: 'Register the webhook',
    description: `Points Telegram at ${webhookUrl(publicUrl, ctx.channelId)} with the secret token (switchboard telegram set-webhook).`,
    run: () => setWebhook(options, { publicUrl, channelId: ctx.channelId }),
  }];
}
