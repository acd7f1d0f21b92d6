import { defineChannel } from '../../../src/core/connector.ts';
import { createWebhookChannel } from './channel.ts';
import { WEBHOOK_SECRETS, WebhookChannelOptions } from './options.ts';

/** Any vendor's JSON or form webhook, mapped to a message from YAML: no code per vendor. */
export const definition = defineChannel({
  kind: 'webhook',
  medium: 'api',
  sends: [],
  options: WebhookChannelOptions,
  secrets: WEBHOOK_SECRETS,
  create: (options, ctx) => createWebhookChannel(options, ctx),
});

export { WebhookChannelOptions, resolveWebhook } from './options.ts';
export { mangoSign, zadarmaSignature } from './vendor-auth.ts';
