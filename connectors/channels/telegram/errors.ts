import { GrammyError, HttpError } from 'grammy';
import { DeliveryError } from '../../../src/core/errors.ts';

/** Bot API URLs carry the token in their path: `/bot<id>:<secret>/method`, `/file/bot<id>:<secret>/…`. */
const TOKEN_IN_TEXT = /\d{3,}:[A-Za-z0-9_-]{20,}/g;

/** Removes bot tokens from text that may reach a log or an error record. */
export function redactToken(text: string, token?: string): string {
  const named = token ? text.split(token).join('<token>') : text;
  return named.replace(TOKEN_IN_TEXT, '<token>');
}

/**
 * Sorts a failed Bot API call. Telegram's `description` is kept verbatim as `detail`;
 * network failures are retried and flagged ambiguous (the call may have gone through).
 * The underlying fetch error is not attached as `cause`: its message contains the URL,
 * and so the token.
 */
export function telegramError(what: string, err: unknown, token?: string): DeliveryError {
  if (err instanceof DeliveryError) return err;
  if (err instanceof GrammyError) {
    const status = err.error_code;
    const detail = err.description;
    if (status === 429) {
      const after = err.parameters.retry_after;
      return new DeliveryError(`${what}: Telegram rate limit (429), retry after ${after ?? '?'} s`, {
        kind: 'rate_limited',
        status,
        retryAfterMs: after === undefined ? undefined : after * 1000,
        detail,
      });
    }
    if (status >= 500) {
      return new DeliveryError(`${what}: Telegram error ${status}`, { kind: 'retry', status, detail, ambiguous: true });
    }
    if (status === 401) {
      return new DeliveryError(`${what}: the bot token was rejected (401); check it with @BotFather`, { kind: 'permanent', status, detail });
    }
    const migrated = err.parameters.migrate_to_chat_id;
    const hint = migrated === undefined ? '' : ` (the group is now the supergroup ${migrated})`;
    return new DeliveryError(`${what}: ${detail}${hint}`, { kind: 'permanent', status, detail });
  }
  const inner = err instanceof HttpError ? err.error : err;
  const message = redactToken(inner instanceof Error ? `${inner.name}: ${inner.message}` : String(inner), token);
  return new DeliveryError(`${what}: network error: ${message}`, { kind: 'retry', ambiguous: true, detail: message });
}
