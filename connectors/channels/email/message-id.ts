import { createHash } from 'node:crypto';

/**
 * The Message-IDs this gateway writes: `<switchboard.<digest>@<domain>>`. Derived from the reply's
 * id, so a resend after a lost answer carries the same id (mail clients show it once), and
 * recognisable, so mail carrying one is known to be ours.
 */
const PREFIX = 'switchboard.';

export function ownMessageId(channelId: string, replyId: string, domain: string): string {
  const digest = createHash('sha256').update(`${channelId}\n${replyId}`).digest('hex').slice(0, 32);
  return `<${PREFIX}${digest}@${domain}>`;
}

export function isOwnMessageId(messageId: string, domain: string): boolean {
  const inner = messageId.replace(/^<|>$/g, '');
  const at = inner.lastIndexOf('@');
  return at > 0 && inner.startsWith(PREFIX) && inner.slice(at + 1).toLowerCase() === domain.toLowerCase();
}

/** Every Message-ID of ours mentioned anywhere in a text (a bounce quotes the mail it returns). */
export function ownMessageIdsIn(text: string, domain: string): string[] {
  const escaped = domain.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
  const found = text.match(new RegExp(`<${PREFIX.replace('.', '\\.')}[0-9a-f]+@${escaped}>`, 'gi')) ?? [];
  return [...new Set(found)];
}
