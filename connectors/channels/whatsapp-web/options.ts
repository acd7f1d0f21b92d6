import { z } from 'zod';

export const WhatsAppWebOptions = z.object({
  executablePath: z.string().min(1).default('/usr/bin/chromium')
    .describe("the system's Chromium (Debian: apt-get install chromium); Switchboard never downloads a browser"),
  chromiumArgs: z.array(z.string().regex(/^--[a-z0-9-]+(=.*)?$/, 'a Chromium flag such as --no-sandbox')).default([])
    .describe('extra Chromium flags, e.g. --no-sandbox when the gateway runs as root in a container'),
  headless: z.boolean().default(true).describe('run Chromium without a window'),
  sessionPath: z.string().min(1).optional()
    .describe('where the linked session (LocalAuth) is kept; default <store.path>/whatsapp-web/<channel id>'),
  webVersion: z.string().regex(/^\d+\.\d+\.\d+/, 'a WhatsApp Web version such as 2.3000.1017054665').optional()
    .describe('pin the WhatsApp Web version, when a WhatsApp update breaks the library until it is upgraded'),
  acceptGroups: z.boolean().default(false)
    .describe('turn group chat messages into tickets too (default: one-to-one chats only)'),
  reconnect: z.strictObject({
    initialMs: z.number().int().positive().default(5_000).describe('first wait before reconnecting'),
    maxMs: z.number().int().positive().default(300_000).describe('longest wait between reconnect attempts'),
  }).prefault({}).describe('reconnect with exponential backoff after a disconnect or a failed start'),
  backfill: z.strictObject({
    maxPerChat: z.number().int().positive().max(5000).default(200)
      .describe('most messages read back per chat when catching up after being offline'),
    firstLinkHours: z.number().int().min(0).max(720).default(24)
      .describe('on the very first link, unread messages younger than this become tickets'),
  }).prefault({}).describe('catching up on messages that arrived while the client was offline'),
  maxFileBytes: z.number().int().positive().default(50 * 1024 * 1024)
    .describe('largest inbound media kept; bigger ones are named in a private note'),
});

export type WhatsAppWebOptions = z.infer<typeof WhatsAppWebOptions>;
