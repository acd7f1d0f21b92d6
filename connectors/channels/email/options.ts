import { z } from 'zod';
import { OAuth2Options } from './oauth2.ts';

/** The email channel's options: what `channels.<id>` holds besides `kind: email`. One mailbox per channel. */

const MB = 1024 * 1024;

const host = z.string().min(1).regex(/^[^\s/:]+$|^\[[0-9a-f:]+\]$/i, 'a host name or address, without scheme or port');

export const ImapOptions = z.strictObject({
  host: host.describe('IMAP server, e.g. imap.gmail.com'),
  port: z.number().int().min(1).max(65535).default(993).describe('993 for implicit TLS, 143 for STARTTLS'),
  secure: z.boolean().default(true)
    .describe('TLS from the first byte (port 993); false: STARTTLS, which the server must offer'),
  allowInsecureAuth: z.boolean().default(false)
    .describe('log in even when the server offers no STARTTLS, so the password travels in clear; only for a test server'),
  rejectUnauthorized: z.boolean().default(true)
    .describe("refuse a server certificate that does not verify; false only for a self-signed test server"),
  user: z.string().min(1).describe('login name, usually the mailbox address'),
  password: z.string().min(1).optional().describe('password or app password (secret: use ${ENV}); omit with oauth2'),
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
  secure: z.boolean().default(false).describe('TLS from the first byte (port 465); false: STARTTLS, which the server must offer when we log in'),
  requireTLS: z.boolean().default(false).describe('require STARTTLS also for a relay that needs no login'),
  allowInsecureAuth: z.boolean().default(false)
    .describe('log in even when the server offers no STARTTLS, so the password travels in clear; only for a test server'),
  rejectUnauthorized: z.boolean().default(true)
    .describe("refuse a server certificate that does not verify; false only for a self-signed test server"),
  user: z.string().min(1).optional().describe('login name; omit for a relay that needs no login (with oauth2: default imap.user)'),
  password: z.string().min(1).optional().describe('password or app password (secret: use ${ENV}); omit with oauth2'),
  dkim: DkimOptions.optional().describe('sign outgoing replies with DKIM (when the server does not sign itself)'),
});
export type SmtpOptions = z.infer<typeof SmtpOptions>;

const mailboxName = z.string().min(1);

export const EmailOptions = z.strictObject({
  address: z.email().describe('the support address: replies are sent from it, e.g. support@acme.com'),
  name: z.string().min(1).optional().describe('display name on replies, e.g. "Acme Support"'),
  imap: ImapOptions.describe('where customer mail is read'),
  smtp: SmtpOptions.describe('where replies are sent'),
  oauth2: OAuth2Options.optional()
    .describe('log in to IMAP and SMTP with OAuth 2.0 (XOAUTH2) instead of passwords: Microsoft 365, Gmail'),
  moveTo: mailboxName.optional()
    .describe('folder a message is moved to once stored; without it the message is marked read (\\Seen) and stays'),
  firstSync: z.enum(['unseen', 'all']).default('unseen')
    .describe('on the very first start: take the unread messages (unseen) or every message in the folder (all)'),
  maxAttachmentBytes: z.number().int().positive().default(25 * MB)
    .describe('larger attachments are not passed on; the agents get a private note naming them'),
  maxMessageBytes: z.number().int().positive().default(60 * MB)
    .describe('a larger email is read only in part (its text start); the agents are told to open it in the mailbox'),
  trustedLists: z.array(z.string().min(1)).default([])
    .describe('lists whose mail is customer mail, by List-Id or address (the support address is a Google Group): their List-* and Precedence: list headers are ignored'),
  autoReplyLimitPerHour: z.number().int().min(0).default(3)
    .describe('automatic replies (rule `reply:`) one address may get per hour; 0 turns them off for this mailbox'),
  messageIdDomain: z.string().regex(/^[A-Za-z0-9.-]+$/, 'a domain name').optional()
    .describe('domain in the Message-ID of replies (default: the domain of `address`); mail carrying it is ours and never makes a ticket'),
}).superRefine((o, ctx) => {
  const oauth = o.oauth2 !== undefined;
  if (!oauth && o.imap.password === undefined) ctx.addIssue({ code: 'custom', path: ['imap', 'password'], message: 'is required (or log in with oauth2)' });
  if (oauth && o.imap.password !== undefined) ctx.addIssue({ code: 'custom', path: ['imap', 'password'], message: 'set a password or oauth2, not both' });
  if (oauth && o.smtp.password !== undefined) ctx.addIssue({ code: 'custom', path: ['smtp', 'password'], message: 'set a password or oauth2, not both' });
  if (!oauth && (o.smtp.user === undefined) !== (o.smtp.password === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['smtp', o.smtp.user === undefined ? 'user' : 'password'], message: 'set both user and password, or neither' });
  }
});
export type EmailOptions = z.infer<typeof EmailOptions>;

export const EMAIL_SECRETS = ['imap.password', 'smtp.password', 'smtp.dkim.privateKey', 'oauth2.clientSecret', 'oauth2.refreshToken'];

/** What `switchboard check` and the start log point out in options that are valid but risky. */
export function emailWarnings(o: EmailOptions): { path: string[]; message: string }[] {
  const clear = 'the password (or OAuth token) travels in clear when the server offers no STARTTLS; use it only for a test server';
  const out: { path: string[]; message: string }[] = [];
  if (o.imap.allowInsecureAuth && !o.imap.secure) out.push({ path: ['imap', 'allowInsecureAuth'], message: `IMAP login without TLS is allowed: ${clear}` });
  if (o.smtp.allowInsecureAuth && !o.smtp.secure) out.push({ path: ['smtp', 'allowInsecureAuth'], message: `SMTP login without TLS is allowed: ${clear}` });
  return out;
}

export function messageIdDomain(o: Pick<EmailOptions, 'address' | 'messageIdDomain'>): string {
  return (o.messageIdDomain ?? o.address.slice(o.address.lastIndexOf('@') + 1)).toLowerCase();
}
