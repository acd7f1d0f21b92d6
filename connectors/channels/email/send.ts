import type { Transporter } from 'nodemailer';
import type { Conversation, FetchedFile, KeyValueStore, ReplyToSend, SendResult } from '../../../src/core/connector.ts';
import { DeliveryError } from '../../../src/core/errors.ts';
import { formatBytes } from '../../../src/core/format-bytes.ts';
import { takeAutoReplySlot } from './autoreply-cap.ts';
import { ownMessageId } from './message-id.ts';
import { cleanId } from './parse.ts';
import { smtpError } from './smtp-errors.ts';
import { recallSubject, replySubject } from './subjects.ts';
import type { ThreadIndex } from './threading.ts';

export interface SendDeps {
  transport: Pick<Transporter, 'sendMail'>;
  kv: KeyValueStore;
  index: ThreadIndex;
  channelId: string;
  from: { name?: string; address: string };
  messageIdDomain: string;
  maxAttachmentBytes: number;
  autoReplyLimitPerHour: number;
  /** Cut out of any error text (SMTP password). */
  secrets: string[];
}

/** References kept in a reply: the conversation's first mail and the most recent ones (RFC 5322 §3.6.4). */
const MAX_REFERENCES = 20;

/**
 * Sends an agent's (or an automatic) reply from the mailbox's address, threaded under the
 * customer's last mail so their client shows one conversation. The Message-ID comes from the
 * reply id and is recorded before sending: the customer's answer finds the ticket however fast
 * it comes, and a resend after a lost answer carries the same id.
 */
export async function sendReply(deps: SendDeps, to: Conversation, reply: ReplyToSend): Promise<SendResult> {
  const recipient = to.sender.email;
  if (!recipient) {
    throw new DeliveryError('this conversation has no email address to reply to', { kind: 'permanent' });
  }
  const messageId = ownMessageId(deps.channelId, reply.replyId, deps.messageIdDomain);
  const sentKey = `sent:${reply.replyId}`;
  if ((await deps.kv.get(sentKey)) !== undefined) return { externalIds: [messageId] };

  if (reply.automatic && !(await takeAutoReplySlot(deps.kv, recipient, reply.replyId, deps.autoReplyLimitPerHour))) {
    const why = deps.autoReplyLimitPerHour === 0
      ? 'automatic replies are off for this mailbox (autoReplyLimitPerHour: 0)'
      : `${recipient} already got ${deps.autoReplyLimitPerHour} automatic replies in the last hour (autoReplyLimitPerHour)`;
    return { externalIds: [], notes: [`The automatic reply was not sent: ${why}.`] };
  }

  const { attachments, notes } = planAttachments(reply.files, deps.maxAttachmentBytes);
  const { inReplyTo, references } = threadingHeaders(to);
  await deps.index.recordSent(messageId, to.externalId, recipient);
  try {
    await deps.transport.sendMail({
      from: deps.from.name ? { name: deps.from.name, address: deps.from.address } : deps.from.address,
      to: to.sender.displayName ? { name: to.sender.displayName, address: recipient } : recipient,
      // A mail that starts a thread (the rating question to a web form's customer) is no "Re:".
      subject: inReplyTo || !to.subject ? replySubject((await recallSubject(deps.kv, to.externalId)) ?? to.subject) : to.subject,
      messageId,
      inReplyTo,
      references,
      text: reply.text,
      html: reply.html,
      attachments,
      // RFC 3834: an automatic reply says so, and asks Exchange not to answer it with another.
      headers: reply.automatic ? { 'Auto-Submitted': 'auto-replied', 'X-Auto-Response-Suppress': 'All' } : undefined,
    });
  } catch (err) {
    throw smtpError(`reply to ${recipient}`, err, deps.secrets);
  }
  await deps.kv.set(sentKey, messageId, { keep: 'sent' });
  return notes.length > 0 ? { externalIds: [messageId], notes } : { externalIds: [messageId] };
}

export function threadingHeaders(to: Pick<Conversation, 'externalId' | 'threadRefs' | 'meta'>): { inReplyTo?: string; references?: string[] } {
  const refs = (to.threadRefs ?? []).map((r) => cleanId(r)).filter((r): r is string => r !== undefined);
  const last = typeof to.meta?.['lastMessageId'] === 'string' ? cleanId(to.meta['lastMessageId']) : undefined;
  const root = cleanId(to.externalId);
  const inReplyTo = last ?? refs.at(-1) ?? root;
  if (!inReplyTo) return {};
  const chain = [...new Set([...(root ? [root] : []), ...refs.filter((r) => r !== inReplyTo), inReplyTo])];
  const references = chain.length > MAX_REFERENCES ? [chain[0]!, ...chain.slice(-(MAX_REFERENCES - 1))] : chain;
  return { inReplyTo, references };
}

function planAttachments(files: FetchedFile[], maxBytes: number) {
  const notes: string[] = [];
  const attachments = files.flatMap((f) => {
    if (f.data.length > maxBytes) {
      notes.push(`"${f.name}" (${formatBytes(f.data.length)}) was not attached: this mailbox sends files up to ${formatBytes(maxBytes)}`);
      return [];
    }
    return [{ filename: f.name, content: f.data, contentType: f.mime }];
  });
  return { attachments, notes };
}
