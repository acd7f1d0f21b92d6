import type { Notice } from '../../core/connector.ts';
import { maskPersonalData } from '../../core/redact.ts';

/** What a notice says, once, for every notifier: personal data masked before anything leaves. */
export interface NoticePayload {
  /** Stable across retries of this notice: receivers dedupe on it. */
  id: string;
  target: string;
  /** What happened in one line, when it is not "rules fired" (an SLA breach). */
  headline?: string;
  ticket: { id: string; url?: string };
  priority?: string;
  tags: string[];
  rules: string[];
  channel: { id: string; kind: string };
  sender?: string;
  /** The start of the message, phone numbers, emails and card numbers masked. */
  excerpt: string;
}

export function noticePayload(n: Notice, id: string, excerptLength: number): NoticePayload {
  return {
    id,
    target: n.target,
    ...(n.headline ? { headline: n.headline } : {}),
    ticket: { id: n.ticketId, ...(n.ticketUrl ? { url: n.ticketUrl } : {}) },
    ...(n.priority ? { priority: n.priority } : {}),
    tags: n.tags,
    rules: n.rules,
    channel: n.channel,
    ...(n.senderName ? { sender: maskPersonalData(n.senderName) } : {}),
    excerpt: excerpt(n.text, excerptLength),
  };
}

/** Masked before it is cut, so a card number split by the cut is never half-visible. */
export function excerpt(text: string, max: number): string {
  const flat = maskPersonalData(text).replace(/\s+/g, ' ').trim();
  if (flat.length <= max) return flat;
  const cut = flat.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${space > max * 0.6 ? cut.slice(0, space) : cut}…`;
}
