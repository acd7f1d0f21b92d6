import { ImapFlow } from 'imapflow';
import type { ChannelContext, ChannelInstance } from '../../../src/core/connector.ts';
import { DEFAULT_RETENTION } from '../../../src/core/retention.ts';
import { fetchKept, releaseKept } from './attachments.ts';
import { describeImapError, INBOX_TUNING, MailboxWatcher, type InboxTuning } from './inbox.ts';
import { ingest } from './ingest.ts';
import { imapTls, mailLogin, smtpTransport } from './login.ts';
import { messageIdDomain, type EmailOptions } from './options.ts';
import { sendReply } from './send.ts';
import { smtpError } from './smtp-errors.ts';
import { ThreadIndex } from './threading.ts';

/** One support mailbox: IMAP in (IDLE, cursor, reconnects), SMTP out (threaded replies). */
export function createEmailChannel(options: EmailOptions, ctx: ChannelContext, tuning: InboxTuning = INBOX_TUNING): ChannelInstance {
  const log = ctx.log.child({ channel: ctx.channelId, kind: 'email' });
  const index = new ThreadIndex(ctx.kv);
  const domain = messageIdDomain(options);
  const login = mailLogin(options);
  const secrets = login.secrets;
  const mailbox = options.imap.mailbox;

  const watcher = new MailboxWatcher({
    imap: options.imap,
    login,
    moveTo: options.moveTo,
    firstSync: options.firstSync,
    maxMessageBytes: options.maxMessageBytes,
    kv: ctx.kv,
    log,
    tuning,
    // Mail taken before is known by its Message-ID record: a rescan looks no further back than those are kept.
    rescanWithinMs: (ctx.retention ?? DEFAULT_RETENTION).threads,
    ingest: (mail) =>
      ingest(mail, {
        ctx,
        index,
        own: { address: options.address, messageIdDomain: domain, trustedLists: options.trustedLists },
        mailbox,
        maxAttachmentBytes: options.maxAttachmentBytes,
        maxMessageBytes: options.maxMessageBytes,
      }),
  });

  const transport = smtpTransport(options, login);

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
      let folder: string;
      let imap: ImapFlow | undefined;
      try {
        imap = new ImapFlow({ host: options.imap.host, port: options.imap.port, ...imapTls(options.imap), auth: await login.imapAuth(), logger: false });
        imap.on('error', () => undefined);
        await imap.connect();
        const status = await imap.status(mailbox, { messages: true, unseen: true });
        folder = status ? `${status.messages ?? 0} messages, ${status.unseen ?? 0} unread in ${mailbox}` : `${mailbox} not found`;
        await imap.logout();
      } catch (err) {
        imap?.close();
        throw new Error(describeImapError(err, options.imap, secrets));
      }
      try {
        await transport.verify();
      } catch (err) {
        throw smtpError(`SMTP ${options.smtp.host}:${options.smtp.port}`, err, secrets);
      }
      const how = login.tokens ? ' with an OAuth2 token' : '';
      const smtpUser = options.smtp.user ?? (login.tokens ? options.imap.user : undefined);
      const accepts = smtpUser ? ` accepts the login of ${smtpUser}${how}` : ' is ready';
      return `IMAP ${options.imap.user}@${options.imap.host}${how}: ${folder}; SMTP ${options.smtp.host}:${options.smtp.port}${accepts}`;
    },
  };
}
