import { WebAPIHTTPError, WebAPIPlatformError, WebAPIRateLimitedError, WebAPIRequestError } from '@slack/web-api';
import { asDeliveryError, DeliveryError } from '../../../src/core/errors.ts';

/** Slack error codes that a later attempt can outlive; every other `ok: false` is a setup problem. */
const TRANSIENT = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'team_added_to_org']);

/** Sorts what the WebClient threw into the gateway's retry / rate_limited / permanent, keeping Slack's own words. */
export function slackError(method: string, err: unknown): DeliveryError {
  if (err instanceof WebAPIRateLimitedError) {
    return new DeliveryError(`Slack ${method}: rate limited, retry after ${err.retryAfter} s`, {
      kind: 'rate_limited', status: 429, retryAfterMs: err.retryAfter * 1000, detail: `retry-after: ${err.retryAfter}`, cause: err,
    });
  }
  if (err instanceof WebAPIPlatformError) {
    const code = err.data.error;
    const detail = JSON.stringify(err.data).slice(0, 8000);
    if (code === 'ratelimited') return new DeliveryError(`Slack ${method}: ratelimited`, { kind: 'rate_limited', detail, cause: err });
    const kind = TRANSIENT.has(code) ? 'retry' : 'permanent';
    return new DeliveryError(`Slack ${method}: ${code}${kind === 'permanent' ? hint(code) : ''}`, { kind, detail, cause: err });
  }
  if (err instanceof WebAPIHTTPError) {
    const detail = typeof err.body === 'string' ? err.body.slice(0, 8000) : JSON.stringify(err.body ?? '').slice(0, 8000);
    const transient = err.statusCode >= 500 || err.statusCode === 408;
    return new DeliveryError(`Slack ${method}: HTTP ${err.statusCode}`, {
      kind: transient ? 'retry' : 'permanent', status: err.statusCode, detail, ambiguous: transient && err.statusCode !== 503, cause: err,
    });
  }
  if (err instanceof WebAPIRequestError) {
    const message = `${err.original.name}: ${err.original.message}`;
    return new DeliveryError(`Slack ${method}: ${message}`, { kind: 'retry', ambiguous: true, detail: message, cause: err });
  }
  return asDeliveryError(err);
}

function hint(code: string): string {
  switch (code) {
    case 'channel_not_found':
      return ' (check the channel id in notifiers.<id>.channels)';
    case 'not_in_channel':
      return ' (invite the app to the channel: /invite @your-app)';
    case 'invalid_auth':
    case 'token_revoked':
    case 'account_inactive':
      return ' (check the bot token)';
    case 'missing_scope':
      return ' (the app needs the chat:write scope)';
    default:
      return '';
  }
}
