import { defineChannel } from '../../../src/core/connector.ts';
import { EMAIL_SECRETS, EmailOptions, emailWarnings } from './options.ts';

/** A support mailbox: IMAP (IDLE, persisted cursor, reconnects) in, SMTP (nodemailer, threaded replies) out. */
export const definition = defineChannel({
  kind: 'email',
  medium: 'email',
  sends: ['text', 'files'],
  options: EmailOptions,
  secrets: EMAIL_SECRETS,
  // Loaded on first use: a gateway without this connector never pays for its libraries' memory.
  create: async (options, ctx) => (await import('./channel.ts')).createEmailChannel(options, ctx),
  warnings: emailWarnings,
});

export { EmailOptions } from './options.ts';
