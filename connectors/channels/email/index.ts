import { defineChannel } from '../../../src/core/connector.ts';
import { createEmailChannel } from './channel.ts';
import { EMAIL_SECRETS, EmailOptions } from './options.ts';

/** A support mailbox: IMAP (IDLE, persisted cursor, reconnects) in, SMTP (nodemailer, threaded replies) out. */
export const definition = defineChannel({
  kind: 'email',
  options: EmailOptions,
  secrets: EMAIL_SECRETS,
  create: (options, ctx) => createEmailChannel(options, ctx),
});

export { EmailOptions } from './options.ts';
