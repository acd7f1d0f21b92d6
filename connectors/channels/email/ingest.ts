import type { ChannelContext } from '../../../src/core/connector.ts';
import type { AttachmentRef, InboundDraft } from '../../../src/core/message.ts';
import { formatBytes } from '../../../src/core/format-bytes.ts';
import { keepAttachments, releaseKept } from './attachments.ts';
import { automatedReason, type OwnIdentity } from './automated.ts';
import { replyText } from './body.ts';
import { ownMessageIdsIn } from './message-id.ts';
import { header, parseEmail, type Email } from './parse.ts';
import { rememberSubject } from './subjects.ts';
import { dateKey, resolveThread, type ThreadIndex } from './threading.ts';

/** One message as fetched from the mailbox. */
export interface RawMail {
  uid: number;
  uidValidity: string;
  source: Buffer;
  internalDate?: Date;
  /** The whole message's size; `truncated` when only its start was fetched. */
  size: number;
  truncated: boolean;
}

export type Taken =
  | { kind: 'accepted'; duplicate: boolean; conversation: string; how: string }
  /** Taken before (same Message-ID and Date): a rescan or a second delivery of one mail. */
  | { kind: 'known' }
  | { kind: 'automated'; reason: string; ownList?: string };

export interface IngestDeps {
  ctx: Pick<ChannelContext, 'accept' | 'blobs' | 'kv' | 'log' | 'noteToAgents' | 'conversationForTicket'>;
  index: ThreadIndex;
  own: OwnIdentity;
  mailbox: string;
  maxAttachmentBytes: number;
  maxMessageBytes: number;
}

/** An HTML body is passed on for a new conversation when it is small enough to travel in the queue. */
const MAX_HTML_CHARS = 256 * 1024;
const BOUNCE_EXCERPT_CHARS = 1500;

/**
 * Turns one fetched mail into a stored message (or a reason not to). Resolves only once the
 * message is durably accepted and its Message-ID recorded, so the caller may then mark it.
 */
export async function ingest(mail: RawMail, deps: IngestDeps): Promise<Taken> {
  const { ctx, index } = deps;
  const email = await parseEmail(mail.source);
  if (await index.taken(email)) return { kind: 'known' };

  const automated = automatedReason(email, deps.own);
  if (automated) {
    if (automated.bounce) await noteBounce(email, mail.source, deps);
    return { kind: 'automated', reason: automated.reason, ...(automated.ownList ? { ownList: automated.ownList } : {}) };
  }

  const identity = email.messageId ? { externalId: email.messageId, dedupeKey: [email.messageId, dateKey(email)].filter(Boolean).join(' ') } : { externalId: `sha:${email.digest}`, dedupeKey: `sha:${email.digest}` };
  const thread = await resolveThread(email, identity.externalId, { index, conversationForTicket: (id) => ctx.conversationForTicket(id) });
  const attachments: AttachmentRef[] = mail.truncated
    ? [{
      name: 'the full email',
      mime: 'message/rfc822',
      size: mail.size,
      source: 'not-kept',
      unavailable: `it is ${formatBytes(mail.size)}, over this mailbox's limit of ${formatBytes(deps.maxMessageBytes)}: only the start of its text was read and its attachments were not; open it in the mailbox (${deps.mailbox}, UID ${mail.uid})`,
    }]
    : await keepAttachments(email.attachments, { blobs: ctx.blobs, maxBytes: deps.maxAttachmentBytes });

  const verified = await addressVerified(email, index);
  const draft = toDraft(email, mail, { ...identity, thread: thread.externalId, followUp: thread.followUp, how: thread.how, attachments, mailbox: deps.mailbox, verified });
  let outcome;
  try {
    [outcome] = await ctx.accept([draft]);
  } catch (err) {
    await releaseKept(ctx.blobs, attachments).catch(() => undefined);
    throw err;
  }
  if (outcome?.duplicate) await releaseKept(ctx.blobs, attachments);
  await index.recordInbound(email, thread.externalId);
  if (!thread.followUp && email.subject) await rememberSubject(ctx.kv, thread.externalId, email.subject);
  return { kind: 'accepted', duplicate: outcome?.duplicate ?? false, conversation: thread.externalId, how: thread.how };
}

/**
 * The sender holds their address when the mail answers one of ours sent to it, and comes from it
 * (From, and Reply-To when there is one: replies go there).
 */
async function addressVerified(email: Email, index: ThreadIndex): Promise<boolean> {
  const from = email.from?.address;
  if (!from || (email.replyTo && email.replyTo.address.toLowerCase() !== from.toLowerCase())) return false;
  return index.answersOwnMailTo([...email.references, ...(email.inReplyTo ? [email.inReplyTo] : [])], from);
}

function toDraft(
  email: Email,
  mail: RawMail,
  d: { externalId: string; dedupeKey: string; thread: string; followUp: boolean; how: string; attachments: AttachmentRef[]; mailbox: string; verified: boolean },
): InboundDraft {
  // Replies go where the customer asked (Reply-To: a shop's contact form sends as itself on their behalf).
  const who = email.replyTo ?? email.from;
  const ownRefs = [...email.references, ...(email.inReplyTo && !email.references.includes(email.inReplyTo) ? [email.inReplyTo] : [])];
  return {
    kind: 'message',
    externalId: d.externalId,
    dedupeKey: d.dedupeKey,
    conversation: {
      externalId: d.thread,
      subject: email.subject || undefined,
      threadRefs: [...ownRefs, ...(email.messageId ? [email.messageId] : [])],
    },
    sender: who
      ? { externalId: who.address.toLowerCase(), email: who.address, displayName: (email.replyTo ? email.replyTo.name : email.from?.name) ?? undefined, ...(d.verified ? { addressVerified: true } : {}) }
      : { externalId: 'unknown-sender' },
    text: d.followUp ? replyText(email.text) : email.text,
    html: !d.followUp && email.html && email.html.length <= MAX_HTML_CHARS ? email.html : undefined,
    attachments: d.attachments,
    occurredAt: (email.date ?? mail.internalDate ?? new Date()).toISOString(),
    raw: {
      mailbox: d.mailbox,
      uid: mail.uid,
      uidValidity: mail.uidValidity,
      headers: Object.fromEntries(['from', 'reply-to', 'to', 'cc', 'subject', 'date', 'message-id', 'in-reply-to'].flatMap((h) => {
        const v = header(email, h);
        return v === undefined ? [] : [[h, v]];
      })),
    },
    meta: { mailbox: d.mailbox, uid: mail.uid, uidValidity: mail.uidValidity, followUp: d.followUp, threadedBy: d.how },
  };
}

/** A bounce of one of our replies is told to the agents on that ticket; any other bounce is only logged. */
async function noteBounce(email: Email, source: Buffer, deps: IngestDeps): Promise<void> {
  const ids = ownMessageIdsIn(source.toString('latin1'), deps.own.messageIdDomain);
  const conversation = await deps.index.conversationOf(ids);
  if (!conversation) return;
  const excerpt = email.text.length > BOUNCE_EXCERPT_CHARS ? `${email.text.slice(0, BOUNCE_EXCERPT_CHARS)}…` : email.text;
  await deps.ctx.noteToAgents(
    conversation,
    `Switchboard: a reply to the customer by email bounced${email.from ? ` (from ${email.from.address})` : ''}:\n${excerpt}`,
    `bounce:${email.messageId ?? email.digest}`,
  );
}
