import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import type { ChannelContext, ChannelInstance } from '../../../src/core/connector.ts';
import { fetchKept, releaseKept } from './attachments.ts';
import { INBOX_TUNING, MailboxWatcher, type InboxTuning } from './inbox.ts';
import { ingest } from './ingest.ts';
import { messageIdDomain, type EmailOptions } from './options.ts';
import { sendReply } from './send.ts';
import { smtpError } from './smtp-errors.ts';
import { ThreadIndex } from './threading.ts';

/** One support mailbox: IMAP in (IDLE, cursor, reconnects), SMTP out (threaded replies). */
export function createEmailChannel(options: EmailOptions, ctx: ChannelContext, tuning: InboxTuning = INBOX_TUNING): ChannelInstance {
  const log = ctx.log.child({ channel: ctx.channelId, kind: 'email' });
  const index = new ThreadIndex(ctx.kv);
  const domain = messageIdDomain(options);
  const secrets = [options.imap.password, options.smtp.password ?? '', options.smtp.dkim?.privateKey ?? ''].filter((s) => s.length > 0);
  const mailbox = options.imap.mailbox;

  const watcher = new MailboxWatcher({
    imap: options.imap,
    moveTo: options.moveTo,
    firstSync: options.firstSync,
    maxMessageBytes: options.maxMessageBytes,
    kv: ctx.kv,
    log,
    tuning,
    ingest: (mail) =>
      ingest(mail, {
        ctx,
        index,
        own: { address: options.address, messageIdDomain: domain },
        mailbox,
        maxAttachmentBytes: options.maxAttachmentBytes,
        maxMessageBytes: options.maxMessageBytes,
      }),
  });

  const transport = nodemailer.createTransport({
    host: options.smtp.host,
    port: options.smtp.port,
    secure: options.smtp.secure,
    requireTLS: options.smtp.requireTLS,
    auth: options.smtp.user && options.smtp.password ? { user: options.smtp.user, pass: options.smtp.password } : undefined,
    tls: { rejectUnauthorized: options.smtp.rejectUnauthorized },
    dkim: options.smtp.dkim,
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 60_000,
  });

  return {
    async start() {
      watcher.start();
    },
    async stop() {
      await watcher.stop();
      transport.close();
    },
    status() {
      const s = watcher.status();
      const state = s.ready ? 'connected' : s.detail === 'connecting' ? 'connecting' : s.detail === 'stopped' ? 'stopped' : 'error';
      return { ...s, state, facts: { mailbox } };
    },
    send(to, reply) {
      return sendReply(
        {
          transport,
          kv: ctx.kv,
          index,
          channelId: ctx.channelId,
          from: { name: options.name, address: options.address },
          messageIdDomain: domain,
          maxAttachmentBytes: options.maxAttachmentBytes,
          autoReplyLimitPerHour: options.autoReplyLimitPerHour,
          secrets,
        },
        to,
        reply,
      );
    },
    fetchAttachment(ref) {
      return fetchKept(ctx.blobs, ref);
    },
    releaseAttachment(ref) {
      return releaseKept(ctx.blobs, [ref]);
    },
    async check() {
      const imap = new ImapFlow({
        host: options.imap.host,
        port: options.imap.port,
        secure: options.imap.secure,
        auth: { user: options.imap.user, pass: options.imap.password },
        tls: { rejectUnauthorized: options.imap.rejectUnauthorized },
        logger: false,
      });
      imap.on('error', () => undefined);
      let folder: string;
      try {
        await imap.connect();
        const status = await imap.status(mailbox, { messages: true, unseen: true });
        folder = status ? `${status.messages ?? 0} messages, ${status.unseen ?? 0} unread in ${mailbox}` : `${mailbox} not found`;
        await imap.logout();
      } catch (err) {
        imap.close();
        const e = err as { responseText?: string; message?: string };
        throw new Error(`IMAP ${options.imap.user}@${options.imap.host}: ${e.responseText ?? e.message ?? String(err)}`);
      }
      try {
        await transport.verify();
      } catch (err) {
        throw smtpError(`SMTP ${options.smtp.host}:${options.smtp.port}`, err, secrets);
      }
      const login = options.smtp.user ? ` accepts the login of ${options.smtp.user}` : ' is ready';
      return `IMAP ${options.imap.user}@${options.imap.host}: ${folder}; SMTP ${options.smtp.host}:${options.smtp.port}${login}`;
    },
  };
}
