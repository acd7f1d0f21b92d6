import { createHmac } from 'node:crypto';
import type { AttemptContext, Logger, Notice, NotifierInstance } from '../../../src/core/connector.ts';
import { errorFromNetwork, errorFromResponse } from '../../../src/core/errors.ts';
import type { WebhookNotifierOptions } from './options.ts';
import { noticePayload } from '../../../src/kit/notice/payload.ts';

export const SIGNATURE_HEADER = 'x-switchboard-signature';
export const TIMESTAMP_HEADER = 'x-switchboard-timestamp';

/** The receiver's check: HMAC-SHA256 over `${timestamp}.${body}`, so a captured notice cannot be replayed later under a new time. */
export function signNotice(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export function createWebhookNotifier(o: WebhookNotifierOptions, ctx: { log: Logger }): NotifierInstance {
  const log = ctx.log.child({ notifier: 'webhook' });
  return {
    async send(notice: Notice, attempt: AttemptContext) {
      const url = o.targets[notice.target] ?? o.url;
      const body = JSON.stringify({ type: 'switchboard.notice', ...noticePayload(notice, attempt.idempotencyKey, o.excerptLength), sentAt: new Date().toISOString() });
      const timestamp = String(Math.floor(Date.now() / 1000));
      const host = new URL(url).host;
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          body,
          headers: {
            ...o.headers,
            'content-type': 'application/json',
            'idempotency-key': attempt.idempotencyKey,
            [TIMESTAMP_HEADER]: timestamp,
            [SIGNATURE_HEADER]: signNotice(o.secret, timestamp, body),
          },
          redirect: 'error',
          signal: AbortSignal.timeout(o.timeoutMs),
        });
      } catch (err) {
        throw errorFromNetwork(`notice to ${host}`, err);
      }
      const text = await res.text().catch(() => '');
      if (!res.ok) throw errorFromResponse(`notice to ${host}`, res.status, text, res.headers);
      log.info({ ticketId: notice.ticketId, target: notice.target, host }, 'notice posted');
    },
  };
}
