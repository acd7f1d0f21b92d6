import { z } from 'zod';

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

export const WebhookNotifierOptions = z.strictObject({
  url: httpUrl.describe('where notices are POSTed as JSON'),
  targets: z.record(z.string().min(1), httpUrl).default({})
    .describe('rule target → its own URL (notify: [hooks:antifraud] posts to targets.antifraud); others go to url'),
  secret: z.string().min(16, 'use at least 16 characters')
    .describe('signs each notice: X-Switchboard-Signature = v1=hex(HMAC-SHA256(secret, timestamp + "." + body)) (secret)'),
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/), z.string()).default({}).describe('extra request headers'),
  timeoutMs: z.number().int().positive().default(10_000),
  excerptLength: z.number().int().min(20).max(2000).default(300).describe('characters of the message in the notice'),
});
export type WebhookNotifierOptions = z.infer<typeof WebhookNotifierOptions>;

// URLs too: hook URLs often carry their own token in the path.
export const WEBHOOK_NOTIFIER_SECRETS = ['secret', 'headers', 'url', 'targets'];
