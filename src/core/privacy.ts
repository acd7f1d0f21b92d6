import { maskCards } from './mask/cards.ts';
import { maskIbans } from './mask/ibans.ts';
import type { NormalizedMessage } from './message.ts';

/**
 * Card numbers (and, when asked, CVVs and IBANs) masked in a message when it is accepted, before
 * the journal stores it and before any helpdesk, notifier, log or dry-run file sees it. The
 * customer's words are masked wherever they are carried: text, HTML, subject, form fields, call
 * transcript, sender name, file names and the raw channel payload. Identifiers the gateway needs
 * (ids, dedupe keys, attachment sources, meta) are left as they are. Images are not read.
 */

export interface PrivacyOptions {
  maskCards: boolean;
  maskCvv: boolean;
  maskIbans: boolean;
}

export interface MaskCounts {
  cards: number;
  cvvs: number;
  ibans: number;
}

/** Where `maskMessage` records what it masked, for the ticket's private note. */
export const MASKED_META = 'masked';

/** Deepest level of the raw payload that is walked: deeper values are dropped, not kept unmasked. */
const RAW_DEPTH = 32;

/**
 * A masker that remembers the most it masked in one string: the text, the form field and the
 * raw payload carry the same words, and the note should count the customer's numbers once.
 */
function masker(opts: PrivacyOptions, counts: MaskCounts): (text: string) => string {
  return (text) => {
    let out = text;
    if (opts.maskCards) {
      const m = maskCards(out, { cvv: opts.maskCvv });
      counts.cards = Math.max(counts.cards, m.cards);
      counts.cvvs = Math.max(counts.cvvs, m.cvvs);
      out = m.text;
    }
    if (opts.maskIbans) {
      const m = maskIbans(out);
      counts.ibans = Math.max(counts.ibans, m.ibans);
      out = m.text;
    }
    return out;
  };
}

/** The value with its strings masked; copied only where something changed (the payload of nearly every message is returned as it is). */
function maskDeep(value: unknown, mask: (s: string) => string, depth: number): unknown {
  if (typeof value === 'string') return mask(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= RAW_DEPTH) return '[…]';
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const m = maskDeep(v, mask, depth + 1);
      if (m !== v) (out ??= value.slice())[i] = m;
    }
    return out ?? value;
  }
  const record = value as Record<string, unknown>;
  let out: Record<string, unknown> | undefined;
  for (const k of Object.keys(record)) {
    const v = record[k];
    const m = maskDeep(v, mask, depth + 1);
    if (m !== v) (out ??= { ...record })[k] = m;
  }
  return out ?? value;
}

/** The message with card numbers masked; `meta.masked` says how many, when any were. */
export function maskMessage(message: NormalizedMessage, opts: PrivacyOptions): NormalizedMessage {
  if (!opts.maskCards && !opts.maskIbans) return message;
  const counts: MaskCounts = { cards: 0, cvvs: 0, ibans: 0 };
  const mask = masker(opts, counts);
  const opt = (s: string | undefined): string | undefined => (s === undefined ? undefined : mask(s));
  const masked: NormalizedMessage = {
    ...message,
    text: mask(message.text),
    ...(message.html !== undefined ? { html: mask(message.html) } : {}),
    conversation: { ...message.conversation, ...(message.conversation.subject !== undefined ? { subject: mask(message.conversation.subject) } : {}) },
    sender: { ...message.sender, ...(message.sender.displayName !== undefined ? { displayName: opt(message.sender.displayName) } : {}) },
    attachments: message.attachments.map((a) => ({ ...a, name: mask(a.name) })),
    ...(message.call ? { call: { ...message.call, ...(message.call.transcript !== undefined ? { transcript: opt(message.call.transcript) } : {}) } } : {}),
    ...(message.form ? { form: { ...message.form, fields: Object.fromEntries(Object.entries(message.form.fields).map(([k, v]) => [k, mask(v)])) } } : {}),
    ...(message.raw !== undefined ? { raw: maskDeep(message.raw, mask, 0) } : {}),
  };
  if (counts.cards + counts.ibans === 0) return message;
  return { ...masked, meta: { ...message.meta, [MASKED_META]: counts } };
}

/** The private-note line for what was masked in these messages, if anything was. */
export function maskedNote(messages: readonly NormalizedMessage[]): string | undefined {
  const total: MaskCounts = { cards: 0, cvvs: 0, ibans: 0 };
  for (const m of messages) {
    const c = m.meta[MASKED_META] as Partial<MaskCounts> | undefined;
    total.cards += c?.cards ?? 0;
    total.cvvs += c?.cvvs ?? 0;
    total.ibans += c?.ibans ?? 0;
  }
  const parts = [
    total.cards > 0 ? `${total.cards} card number${total.cards > 1 ? 's' : ''}` : '',
    total.cvvs > 0 ? `${total.cvvs} CVV code${total.cvvs > 1 ? 's' : ''}` : '',
    total.ibans > 0 ? `${total.ibans} IBAN${total.ibans > 1 ? 's' : ''}` : '',
  ].filter(Boolean);
  if (parts.length === 0) return undefined;
  return `Switchboard masked ${parts.join(', ')} in the customer's message before it reached the helpdesk (privacy settings); only the last 4 digits of a card are shown. Do not ask the customer to send the full number here.`;
}
