import { defineNotifier } from '../../../src/core/connector.ts';
import { createWebhookNotifier } from './notifier.ts';
import { WEBHOOK_NOTIFIER_SECRETS, WebhookNotifierOptions } from './options.ts';

/** Escalation notices as signed JSON to any URL. */
export const definition = defineNotifier({
  kind: 'webhook',
  options: WebhookNotifierOptions,
  secrets: WEBHOOK_NOTIFIER_SECRETS,
  create: (options, ctx) => createWebhookNotifier(options, ctx),
});

export { WebhookNotifierOptions } from './options.ts';
export { signNotice, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './notifier.ts';
export { noticePayload, excerpt, type NoticePayload } from '../../../src/kit/notice/payload.ts';
