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
  /** Skipped as list mail of a list that carries this mailbox's own address: likely the support address is a list. */
  ownList?: string;
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
  /** Lists (List-Id or list address) whose mail is customer mail: the support address is such a list. */
  trustedLists?: readonly string[];
}

/** What a list says it is: its List-Id (inside <…>) and its posting address (List-Post mailto:). */
export function listIdentity(email: Email): { id?: string; address?: string } {
  const id = /<([^<>\s]+)>/.exec(header(email, 'list-id') ?? '')?.[1]?.toLowerCase();
  const address = /<mailto:([^<>?\s]+)/i.exec(header(email, 'list-post') ?? '')?.[1]?.toLowerCase();
  return { id, address };
}

/** An entry names a list by its List-Id or its address; Google Groups' List-Id is the address with "." for "@". */
function trusted(list: { id?: string; address?: string }, entries: readonly string[]): boolean {
  return entries.some((entry) => {
    const e = entry.trim().toLowerCase().replace(/^<|>$/g, '');
    return e === list.id || e === list.address || e.replace('@', '.') === list.id;
  });
}

export function automatedReason(email: Email, own: OwnIdentity): Automated | undefined {
  const bounce = (reason: string): Automated => ({ reason, bounce: true });
  const machine = (reason: string): Automated => ({ reason, bounce: false });

  if (email.messageId && isOwnMessageId(email.messageId, own.messageIdDomain)) return machine('it is a reply this gateway sent');
  // A list the admin trusts (the support address is a Google Group) adds its headers to every
  // customer's mail: those headers say nothing then; everything else still counts.
  const list = listIdentity(email);
  const trustedList = trusted(list, own.trustedLists ?? []);
  const self = own.address.toLowerCase();
  const from = email.from?.address.toLowerCase();
  // Skipped as list mail of a list named after this mailbox: the admin is told how to trust it.
  const ownList = list.address === self || list.id === self.replace('@', '.') ? list.id ?? list.address : undefined;
  const listMail = (reason: string): Automated => ({ reason, bounce: false, ...(ownList ? { ownList } : {}) });
  // Such a list may rewrite From to itself ("'Azamat' via Support") and put the customer in Reply-To.
  const rewritten = email.replyTo !== undefined && email.replyTo.address.toLowerCase() !== self;
  if (from && from === self) {
    if (!rewritten) return machine('it was sent from this mailbox itself');
    if (!trustedList) return listMail('it was sent from this mailbox\'s own address on behalf of another (a list rewriting From)');
  }

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
  const listPrecedence = precedence === 'list' || precedence === 'bulk';
  if (precedence && BULK_PRECEDENCE.has(precedence) && !(trustedList && listPrecedence)) {
    return listPrecedence ? listMail(`Precedence: ${precedence}`) : machine(`Precedence: ${precedence}`);
  }
  const listHeader = [...email.headers.keys()].find((k) => k.startsWith('list-') || k === 'mailing-list');
  if (listHeader && !trustedList) return listMail(`it carries the mailing-list header ${listHeader}`);
  const responder = AUTORESPONDER_HEADERS.find((h) => email.headers.has(h));
  if (responder) return machine(`it carries ${responder}`);
  return undefined;
}
