import { defineChannel } from '../../../src/core/connector.ts';
import { createWhatsAppWebChannel } from './channel.ts';
import { loadWhatsAppWebJs } from './library.ts';
import { WhatsAppWebOptions } from './options.ts';

/**
 * A WhatsApp account linked by QR code (whatsapp-web.js in the system's Chromium). The library,
 * and so Puppeteer, is imported only when such a channel starts.
 */
export const definition = defineChannel({
  kind: 'whatsapp-web',
  medium: 'messenger',
  network: 'whatsapp',
  sends: ['text', 'files'],
  options: WhatsAppWebOptions,
  secrets: [],
  create: (options, ctx) => createWhatsAppWebChannel(options, ctx, { loadLibrary: loadWhatsAppWebJs }),
});

export { WhatsAppWebOptions } from './options.ts';
export { createWhatsAppWebChannel } from './channel.ts';
