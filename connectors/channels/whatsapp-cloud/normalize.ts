import type { AttachmentRef, InboundDraft, Sender } from '../../../src/core/message.ts';
import { WaContact, WaMessage, WaStatus, type ChangeValue, type ErrorItem } from './payload.ts';

/** What one `changes[].value` holds, sorted by what the gateway does with it. */
export interface ChangeEvents {
  /** Customer messages: become tickets and follow-ups. */
  drafts: InboundDraft[];
  /** Said to the agents as a private note (number changes). */
  notes: { conversation: string; text: string; key: string }[];
  /** Emoji reactions, to be said to the agents once we know which message they are about. */
  reactions: { conversation: string; emoji: string; messageId: string; key: string }[];
  /** Delivery receipts of our own sends. */
  statuses: WaStatus[];
  /** Items left out, with the reason, for the log. */
  skipped: { id: string; reason: string }[];
}

export interface NormalizeOptions {
  reactions: 'note' | 'ignore';
}

type MediaType = 'image' | 'video' | 'audio' | 'document' | 'sticker';

const DEFAULT_MIME: Record<MediaType, string> = {
  image: 'image/jpeg',
  video: 'video/mp4',
  audio: 'audio/ogg',
  document: 'application/octet-stream',
  sticker: 'image/webp',
};

/**
 * Every message and status of one change. Keys: the `wamid` of each message (Meta retries a
 * webhook for days, with the same ids); statuses are keyed later, by wamid and status.
 */
export function readChange(value: ChangeValue, opts: NormalizeOptions): ChangeEvents {
  const out: ChangeEvents = { drafts: [], notes: [], reactions: [], statuses: [], skipped: [] };
  const names = profileNames(value.contacts ?? []);
  for (const item of value.messages ?? []) {
    const parsed = WaMessage.safeParse(item);
    if (!parsed.success) {
      out.skipped.push({ id: idOf(item), reason: `malformed message: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` });
      continue;
    }
    readMessage(parsed.data, names, value.metadata.phone_number_id, opts, out);
  }
  for (const item of value.statuses ?? []) {
    const parsed = WaStatus.safeParse(item);
    if (parsed.success) out.statuses.push(parsed.data);
    else out.skipped.push({ id: idOf(item), reason: 'malformed status' });
  }
  return out;
}

function readMessage(m: WaMessage, names: Map<string, string>, phoneNumberId: string, opts: NormalizeOptions, out: ChangeEvents): void {
  if (m.type === 'reaction' && m.reaction) {
    const emoji = m.reaction.emoji ?? '';
    // An empty emoji is a reaction taken back: nothing for an agent to act on.
    if (opts.reactions === 'ignore' || emoji === '') {
      out.skipped.push({ id: m.id, reason: emoji === '' ? 'reaction removed' : 'reactions are ignored (reactions: ignore)' });
      return;
    }
    out.reactions.push({ conversation: m.from, emoji, messageId: m.reaction.message_id, key: `reaction:${m.id}` });
    return;
  }
  if (m.type === 'system') {
    const body = m.system?.body ?? 'the customer changed their WhatsApp number';
    const newId = m.system?.wa_id ? ` New WhatsApp id: ${m.system.wa_id}; their next messages arrive as a new conversation.` : '';
    out.notes.push({ conversation: m.from, text: `WhatsApp: ${body}.${newId}`, key: `system:${m.id}` });
    return;
  }

  const content = describe(m);
  const meta: Record<string, unknown> = { phoneNumberId, type: m.type };
  if (m.context?.id) meta.replyTo = m.context.id;
  if (m.interactive) meta.interactive = { type: m.interactive.type, id: m.interactive.button_reply?.id ?? m.interactive.list_reply?.id };
  if (m.button?.payload !== undefined) meta.buttonPayload = m.button.payload;
  if (m.referral) meta.referral = m.referral;

  // A list row, a reply button or a template's quick reply: what the customer picked, by its id.
  const choice = m.interactive?.list_reply?.id ?? m.interactive?.button_reply?.id ?? m.button?.payload;
  out.drafts.push({
    kind: 'message',
    ...(choice && choice.length <= 256 ? { choice } : {}),
    externalId: m.id,
    dedupeKey: m.id,
    conversation: { externalId: m.from },
    sender: senderOf(m.from, names),
    text: content.text,
    attachments: content.attachments,
    occurredAt: new Date(Number(m.timestamp) * 1000).toISOString(),
    raw: m,
    meta,
  });
}

function describe(m: WaMessage): { text: string; attachments: AttachmentRef[] } {
  const attachments: AttachmentRef[] = [];
  const lines: string[] = [];
  switch (m.type) {
    case 'text':
      lines.push(m.text?.body ?? '');
      break;
    case 'image':
    case 'video':
    case 'audio':
    case 'document':
    case 'sticker': {
      const media = m[m.type];
      if (!media) {
        lines.push(`[${m.type} without its media id]`);
        break;
      }
      const ref = attachmentOf(m.type, media);
      attachments.push(ref);
      lines.push(media.caption?.trim() || placeholder(m.type, media, ref.name));
      break;
    }
    case 'location': {
      const l = m.location;
      if (!l) break;
      const label = [l.name, l.address].filter(Boolean).join(', ');
      lines.push(`Location${label ? `: ${label}` : ''}`);
      lines.push(`${l.latitude}, ${l.longitude} https://maps.google.com/?q=${l.latitude},${l.longitude}`);
      break;
    }
    case 'contacts':
      for (const c of m.contacts ?? []) {
        const name = c.name?.formatted_name ?? [c.name?.first_name, c.name?.last_name].filter(Boolean).join(' ');
        const phones = (c.phones ?? []).map((p) => p.phone ?? (p.wa_id ? `+${p.wa_id}` : undefined)).filter(Boolean);
        const emails = (c.emails ?? []).map((e) => e.email).filter(Boolean);
        lines.push(`Contact: ${[name || 'no name', ...phones, ...emails].join(', ')}`);
      }
      break;
    case 'interactive': {
      const reply = m.interactive?.button_reply ?? m.interactive?.list_reply;
      const description = m.interactive?.list_reply?.description;
      lines.push(reply ? `${reply.title}${description ? ` — ${description}` : ''}` : '[an interactive reply]');
      break;
    }
    case 'button':
      lines.push(m.button?.text ?? '[a button]');
      break;
    default:
      lines.push(`[a WhatsApp message of type "${m.type}" that the gateway cannot show${errorSuffix(m.errors)}]`);
  }
  const text = lines.join('\n');
  return { text: text === '' ? `[an empty ${m.type} message]` : text, attachments };
}

/** `quote` is the reacted-to message when it is one we sent. */
export function reactionText(emoji: string, messageId: string, quote: string | undefined): string {
  return `The customer reacted ${emoji} on WhatsApp to ${quote !== undefined ? `the reply "${quote}"` : `message ${messageId}`}.`;
}

function placeholder(type: MediaType, media: { voice?: boolean; animated?: boolean }, name: string): string {
  if (type === 'audio') return media.voice ? '[voice message]' : '[audio]';
  if (type === 'document') return `[document: ${name}]`;
  if (type === 'sticker') return media.animated ? '[animated sticker]' : '[sticker]';
  return `[${type}]`;
}

function attachmentOf(type: MediaType, media: { id: string; mime_type?: string; filename?: string }): AttachmentRef {
  const mime = media.mime_type?.trim() || DEFAULT_MIME[type];
  const name = media.filename?.trim() || `${type}-${media.id.slice(-8)}.${extensionOf(mime)}`;
  return { name, mime, source: media.id };
}

function errorSuffix(errors: ErrorItem[] | undefined): string {
  const e = errors?.[0];
  if (!e) return '';
  return `: ${e.code ?? ''} ${e.title ?? e.message ?? ''}`.replace(/\s+/g, ' ').trimEnd();
}

function profileNames(contacts: unknown[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const c of contacts) {
    const parsed = WaContact.safeParse(c);
    const name = parsed.success ? parsed.data.profile?.name?.trim() : undefined;
    if (parsed.success && parsed.data.wa_id && name) names.set(parsed.data.wa_id, name);
  }
  return names;
}

function senderOf(waId: string, names: Map<string, string>): Sender {
  const sender: Sender = { externalId: waId };
  const name = names.get(waId);
  if (name) sender.displayName = name;
  if (/^\d{6,15}$/.test(waId)) sender.phone = `+${waId}`;
  return sender;
}

function idOf(item: unknown): string {
  return typeof item === 'object' && item !== null && 'id' in item && typeof item.id === 'string' ? item.id : '(no id)';
}

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'audio/ogg': 'ogg',
  'audio/mpeg': 'mp3',
  'audio/mp4': 'm4a',
  'audio/aac': 'aac',
  'audio/amr': 'amr',
  'video/mp4': 'mp4',
  'video/3gpp': '3gp',
  'application/pdf': 'pdf',
  'text/plain': 'txt',
};

export function extensionOf(mime: string): string {
  return EXTENSIONS[(mime.split(';')[0] ?? '').trim().toLowerCase()] ?? 'bin';
}
