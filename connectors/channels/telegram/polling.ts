import { GrammyError, type Api } from 'grammy';
import type { ChannelContext } from '../../../src/core/connector.ts';
import type { InboundDraft } from '../../../src/core/message.ts';
import { pauseAfterFailure, PollerLifecycle, type Backoff } from '../../../src/kit/poller.ts';
import { telegramError } from './errors.ts';
import type { TelegramOptions } from './options.ts';
import type { Normalized } from './normalize.ts';
import { parseUpdate, type TgUpdate } from './update.ts';

export interface PollerDeps {
  api: Api;
  token: string;
  ctx: Pick<ChannelContext, 'accept' | 'log'>;
  normalize(update: TgUpdate): Normalized;
  timeoutSec: number;
  allowedUpdates: TelegramOptions['allowedUpdates'];
  backoff: Backoff;
}

type GrammySignal = Parameters<Api['getUpdates']>[1];

export const POLLING_BACKOFF = { initialMs: 1000, maxMs: 60_000 };

const WEBHOOK_SET_HELP =
  'Telegram has a webhook set for this bot, so getUpdates fails with 409 Conflict. ' +
  'Run `switchboard telegram set-webhook --delete`, or set this channel to mode: webhook.';

/**
 * Long polling: fetch, store every update durably, and only then move the offset on.
 * Telegram forgets an update once a later getUpdates names a higher offset, so an update
 * that failed to store is fetched again on the next round.
 */
export class UpdatePoller {
  readonly #deps: PollerDeps;
  readonly #life = new PollerLifecycle();

  constructor(deps: PollerDeps) {
    this.#deps = deps;
  }

  async start(): Promise<void> {
    if (this.#life.running) return;
    this.#life.down('starting');
    await this.#warnIfWebhookSet();
    this.#life.start((signal) => this.#run(signal));
  }

  stop(): Promise<void> {
    return this.#life.stop();
  }

  status(): { ready: boolean; detail?: string } {
    return this.#life.status();
  }

  /**
   * The webhook is not deleted for the admin: another deployment (production, say) may be the
   * one receiving through it, and silently taking its updates away would be worse than waiting.
   */
  async #warnIfWebhookSet(): Promise<void> {
    try {
      // Bounded: an unreachable Telegram must not hold up the gateway's start.
      const info = await this.#deps.api.getWebhookInfo(AbortSignal.timeout(5000) as GrammySignal);
      if (info.url) {
        this.#life.down(WEBHOOK_SET_HELP);
        this.#deps.ctx.log.error({ webhookHost: safeHost(info.url) }, WEBHOOK_SET_HELP);
      }
    } catch {
      // The loop reports connection problems itself.
    }
  }

  async #run(signal: AbortSignal): Promise<void> {
    let offset: number | undefined;
    let failures = 0;
    while (!signal.aborted) {
      let updates;
      try {
        updates = await this.#deps.api.getUpdates(
          { offset, timeout: this.#deps.timeoutSec, allowed_updates: this.#deps.allowedUpdates },
          // grammY types its signal with the abort-controller polyfill; Node's own works the same.
          signal as GrammySignal,
        );
      } catch (err) {
        if (signal.aborted) break;
        await this.#fail((failures += 1), describe(err, this.#deps.token), signal);
        continue;
      }
      this.#life.up();
      const last = updates.at(-1);
      if (!last) continue;
      try {
        await this.#store(updates);
      } catch (err) {
        // Offset not advanced: the same updates come back on the next call.
        const message = err instanceof Error ? err.message : String(err);
        await this.#fail((failures += 1), `could not store Telegram updates: ${message}`, signal);
        continue;
      }
      offset = last.update_id + 1;
      failures = 0;
    }
  }

  async #fail(failures: number, detail: string, signal: AbortSignal): Promise<void> {
    this.#life.down(detail);
    this.#deps.ctx.log.error({ failures, error: detail }, 'telegram polling failed; retrying');
    await pauseAfterFailure(this.#deps.backoff, failures, signal);
  }

  async #store(updates: unknown[]): Promise<void> {
    const drafts: InboundDraft[] = [];
    for (const raw of updates) {
      const parsed = parseUpdate(raw);
      if (!parsed.ok) {
        // Skipped, not retried: the same bytes would fail the same way forever.
        this.#deps.ctx.log.warn({ error: parsed.error }, 'telegram update skipped');
        continue;
      }
      const result = this.#deps.normalize(parsed.update);
      if ('draft' in result) drafts.push(result.draft);
      else this.#deps.ctx.log.debug({ updateId: parsed.update.update_id, reason: result.ignored }, 'telegram update ignored');
    }
    if (drafts.length > 0) await this.#deps.ctx.accept(drafts);
  }
}

function describe(err: unknown, token: string): string {
  if (err instanceof GrammyError && err.error_code === 409) {
    return /webhook/i.test(err.description)
      ? `${WEBHOOK_SET_HELP} (Telegram: ${err.description})`
      : `another process is polling with this bot token; only one may (Telegram: ${err.description})`;
  }
  return telegramError('getUpdates', err, token).message;
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'unparseable';
  }
}
