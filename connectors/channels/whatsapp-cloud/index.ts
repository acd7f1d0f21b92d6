import { defineChannel } from '../../../src/core/connector.ts';
import { createWhatsAppCloudChannel } from './channel.ts';
import { WHATSAPP_CLOUD_SECRETS, WhatsAppCloudOptions } from './options.ts';

/** WhatsApp Business Cloud API (Meta): GET handshake and signed POST webhooks in, Graph API sends out. */
export const definition = defineChannel({
  kind: 'whatsapp-cloud',
  medium: 'messenger',
  network: 'whatsapp',
  sends: ['text', 'files', 'buttons'],
  options: WhatsAppCloudOptions,
  secrets: WHATSAPP_CLOUD_SECRETS,
  create: (options, ctx) => createWhatsAppCloudChannel(options, ctx),
});

export { WhatsAppCloudOptions } from './options.ts';
export { createWhatsAppCloudChannel } from './channel.ts';
export { signBody } from './signature.ts';
