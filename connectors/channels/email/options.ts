import { z } from 'zod';

/** The email channel's options: what `channels.<id>` holds besides `kind: email`. One mailbox per channel. */

const MB = 1024 * 1024;

const host = z.string().min(1).regex(/^[^\s/:]+$|^\[[0-9a-f:]+\]$/i, 'a host name or address, without scheme or port');

export const ImapOptions = z.strictObject({
  host: host.describe('IMAP server, e.g. imap.gmail.com'),
  port: z.number().int().min(1).max(65535).default(993).describe('993 for implicit TLS, 143 for STARTTLS or plain'),
  secure: z.boolean().default(true)
    .describe('TLS from the first byte (port 993); false: STARTTLS when the server offers it'),
  rejectUnauthorized: z.boolean().default(true)
    .describe("refuse a server certificate that does not verify; false only for a self-signed test server"),
  user: z.string().min(1).describe('login name, usually the mailbox address'),
  password: z.string().min(1).describe('password or app password (secret: use ${ENV})'),
  mailbox: z.string().min(1).default('INBOX').describe('the folder to watch'),
});
export type ImapOptions = z.infer<typeof ImapOptions>;

export const DkimOptions = z.strictObject({
  domainName: z.string().min(1).describe('the d= domain, usually the domain of `address`'),
  keySelector: z.string().min(1).describe('the s= selector whose public key is in DNS (<selector>._domainkey.<domain>)'),
  privateKey: z.string().min(1).describe('PEM private key (secret: use ${file:…})'),
});

export const SmtpOptions = z.strictObject({
  host: host.describe('SMTP server, e.g. smtp.gmail.com'),
  port: z.number().int().min(1).max(65535).default(587).describe('587 for STARTTLS submission, 465 for implicit TLS'),
  secure: z.boolean().default(false).describe('TLS from the first byte (port 465); false: STARTTLS when offered'),
  requireTLS: z.boolean().default(false).describe('refuse to send when the server does not offer STARTTLS'),
  rejectUnauthorized: z.boolean().default(true)
    .describe("refuse a server certificate that does not verify; false only for a self-signed test server"),
  user: z.string().min(1).optional().describe('login name; omit for a relay that needs no login'),
  password: z.string().min(1).optional().describe('password or app password (secret: use ${ENV})'),
  dkim: DkimOptions.optional().describe('sign outgoing replies with DKIM (when the server does not sign itself)'),
}).superRefine((o, ctx) => {
  if ((o.user === undefined) !== (o.password === undefined)) {
    ctx.addIssue({ code: 'custom', path: [o.user === undefined ? 'user' : 'password'], message: 'set both user and password, or neither' });
  }
});
export type SmtpOptions = z.infer<typeof SmtpOptions>;

const mailboxName = z.string().min(1);

export const EmailOptions = z.strictObject({
  address: z.email().describe('the support address: replies are sent from it, e.g. support@acme.com'),
  name: z.string().min(1).optional().describe('display name on replies, e.g. "Acme Support"'),
  imap: ImapOptions.describe('where customer mail is read'),
  smtp: SmtpOptions.describe('where replies are sent'),
  moveTo: mailboxName.optional()
    .describe('folder a message is moved to once stored; without it the message is marked read (\\Seen) and stays'),
  firstSync: z.enum(['unseen', 'all']).default('unseen')
    .describe('on the very first start: take the unread messages (unseen) or every message in the folder (all)'),
  maxAttachmentBytes: z.number().int().positive().default(25 * MB)
    .describe('larger attachments are not passed on; the agents get a private note naming them'),
  maxMessageBytes: z.number().int().positive().default(60 * MB)
    .describe('a larger email is read only in part (its text start); the agents are told to open it in the mailbox'),
  autoReplyLimitPerHour: z.number().int().min(0).default(3)
    .describe('automatic replies (rule `reply:`) one address may get per hour; 0 turns them off for this mailbox'),
  messageIdDomain: z.string().regex(/^[A-Za-z0-9.-]+$/, 'a domain name').optional()
    .describe('domain in the Message-ID of replies (default: the domain of `address`); mail carrying it is ours and never makes a ticket'),
});
export type EmailOptions = z.infer<typeof EmailOptions>;

export const EMAIL_SECRETS = ['imap.password', 'smtp.password', 'smtp.dkim.privateKey'];

export function messageIdDomain(o: Pick<EmailOptions, 'address' | 'messageIdDomain'>): string {
  return (o.messageIdDomain ?? o.address.slice(o.address.lastIndexOf('@') + 1)).toLowerCase();
}
