import { isOwnMessageId } from './message-id.ts';
import { header, type Email } from './parse.ts';

/**
 * Loop protection (RFC 3834 and the headers real autoresponders, lists and MTAs set): mail
 * that a machine wrote makes no ticket and gets no reply. A bounce is told apart because the
 * agents still want to hear that a reply of theirs did not arrive.
 */
export interface Automated {
  reason: string;
  bounce: boolean;
}

const BULK_PRECEDENCE = new Set(['bulk', 'list', 'junk', 'auto_reply']);
const SYSTEM_SENDERS = new Set(['mailer-daemon', 'postmaster']);
/** Set by autoresponders that predate Auto-Submitted. */
const AUTORESPONDER_HEADERS = ['x-autoreply', 'x-autorespond', 'x-auto-reply'];

export interface OwnIdentity {
  /** The mailbox's own address. */
  address: string;
  /** The domain of the Message-IDs this gateway writes. */
  messageIdDomain: string;
}

export function automatedReason(email: Email, own: OwnIdentity): Automated | undefined {
  const bounce = (reason: string): Automated => ({ reason, bounce: true });
  const machine = (reason: string): Automated => ({ reason, bounce: false });

  if (email.messageId && isOwnMessageId(email.messageId, own.messageIdDomain)) return machine('it is a reply this gateway sent');
  const from = email.from?.address.toLowerCase();
  if (from && from === own.address.toLowerCase()) return machine('it was sent from this mailbox itself');

  const returnPath = header(email, 'return-path');
  if (returnPath !== undefined && /^<\s*>$|^$/.test(returnPath)) return bounce('it has an empty Return-Path (a delivery report)');
  const local = from?.slice(0, from.lastIndexOf('@'));
  if (local && SYSTEM_SENDERS.has(local)) return bounce(`it comes from ${email.from?.address}`);
  const contentType = (header(email, 'content-type') ?? '').toLowerCase();
  if (contentType.startsWith('multipart/report')) {
    return /report-type\s*=\s*"?delivery-status/.test(contentType)
      ? bounce('it is a delivery status report')
      : machine('it is a mail system report (multipart/report)');
  }

  const autoSubmitted = header(email, 'auto-submitted');
  if (autoSubmitted !== undefined && autoSubmitted.split(';')[0]!.trim().toLowerCase() !== 'no') {
    return machine(`Auto-Submitted: ${autoSubmitted}`);
  }
  const suppress = header(email, 'x-auto-response-suppress');
  if (suppress !== undefined) return machine(`X-Auto-Response-Suppress: ${suppress}`);
  const precedence = header(email, 'precedence')?.toLowerCase();
  if (precedence && BULK_PRECEDENCE.has(precedence)) return machine(`Precedence: ${precedence}`);
  const list = [...email.headers.keys()].find((k) => k.startsWith('list-'));
  if (list) return machine(`it carries the mailing-list header ${list}`);
  const responder = AUTORESPONDER_HEADERS.find((h) => email.headers.has(h));
  if (responder) return machine(`it carries ${responder}`);
  return undefined;
}
