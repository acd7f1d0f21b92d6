import { LogLevel, WebClient, type Logger as SlackLogger } from '@slack/web-api';
import type { AttemptContext, KeyValueStore, Logger, Notice, NotifierInstance } from '../../../src/core/connector.ts';
import { DeliveryError } from '../../../src/core/errors.ts';
import { noticePayload } from '../../../src/kit/notice/payload.ts';
import { slackError } from './errors.ts';
import { slackMessage } from './message.ts';
import type { SlackOptions } from './options.ts';

const EVENT_TYPE = 'switchboard_notice';

/**
 * Escalation alerts with Slack's WebClient (the client @slack/bolt wraps; nothing of Bolt's
 * receiving side is needed to post). Its own retries are off and rate limits are rejected, so
 * the gateway's queue owns both: a 429 pauses only Slack notices for Retry-After, and a notice
 * is retried, dead-lettered and replayable like everything else.
 */
export function createSlackNotifier(o: SlackOptions, ctx: { log: Logger; kv: KeyValueStore }): NotifierInstance {
  const log = ctx.log.child({ notifier: 'slack' });
  const client = new WebClient(o.token, {
    slackApiUrl: o.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: o.timeoutMs,
    allowAbsoluteUrls: false,
    logger: slackLogger(log),
    logLevel: LogLevel.DEBUG,
  });

  function channelFor(target: string): string {
    const channel = o.channels[target] ?? o.defaultChannel;
    if (!channel) {
      throw new DeliveryError(`no Slack channel for target '${target}': add it under channels (or set defaultChannel)`, { kind: 'permanent' });
    }
    return channel;
  }

  /** After an attempt whose answer was lost: did Slack post it? Best effort (needs channels:history). */
  async function alreadyPosted(channel: string, key: string): Promise<boolean> {
    try {
      const res = await client.conversations.history({ channel, limit: 50, include_all_metadata: true });
      return (res.messages ?? []).some((m) => m.metadata?.event_type === EVENT_TYPE && (m.metadata.event_payload as Record<string, unknown> | undefined)?.['key'] === key);
    } catch (err) {
      log.warn({ error: slackError('conversations.history', err).message }, 'could not check whether the lost attempt posted; posting');
      return false;
    }
  }

  return {
    async send(notice: Notice, attempt: AttemptContext) {
      const channel = channelFor(notice.target);
      const key = attempt.idempotencyKey;
      const posted = `posted:${key}`;
      // Posted but the job's completion was lost (a crash): do not post again.
      if (await ctx.kv.get(posted)) return;
      if (attempt.reconcile && (await alreadyPosted(channel, key))) {
        log.info({ ticketId: notice.ticketId, channel }, 'an earlier attempt posted the alert; not posting again');
        await ctx.kv.set(posted, 'found', { keep: 'sent' });
        return;
      }
      const { text, blocks } = slackMessage(noticePayload(notice, key, o.excerptLength));
      let ts: string | undefined;
      try {
        const res = await client.chat.postMessage({
          channel,
          text,
          blocks,
          unfurl_links: false,
          unfurl_media: false,
          metadata: { event_type: EVENT_TYPE, event_payload: { key, ticket_id: notice.ticketId } },
        });
        ts = res.ts;
      } catch (err) {
        throw slackError('chat.postMessage', err);
      }
      await ctx.kv.set(posted, ts ?? 'posted', { keep: 'sent' });
      log.info({ ticketId: notice.ticketId, target: notice.target, channel, ts }, 'Slack alert posted');
    },

    async check() {
      try {
        const res = await client.auth.test();
        return `Slack: bot ${res.user ?? '?'} in workspace ${res.team ?? '?'}`;
      } catch (err) {
        throw slackError('auth.test', err);
      }
    },
  };
}

/** The WebClient's own chatter goes to the gateway's log at debug level (it never sees the token: the client redacts it). */
function slackLogger(log: Logger): SlackLogger {
  const text = (msg: unknown[]) => msg.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(' ');
  let level = LogLevel.DEBUG;
  return {
    debug: (...m: unknown[]) => log.debug({ slack: text(m) }, 'slack client'),
    info: (...m: unknown[]) => log.debug({ slack: text(m) }, 'slack client'),
    warn: (...m: unknown[]) => log.warn({ slack: text(m) }, 'slack client'),
    error: (...m: unknown[]) => log.error({ slack: text(m) }, 'slack client'),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}
