import type { BlobStore } from '../../../src/core/connector.ts';
import type { AttachmentRef, InboundDraft, Sender } from '../../../src/core/message.ts';
import type { WebContact, WebMessage } from './library.ts';

export type Normalized = { draft: InboundDraft } | { ignored: string };

export interface NormalizeDeps {
  blobs: BlobStore;
  maxFileBytes: number;
  acceptGroups: boolean;
}

/** Types the library reports that nobody wrote to support: security codes, group events, deletions. */
const NOT_CUSTOMER_CONTENT = new Set([
  'e2e_notification', 'notification', 'notification_template', 'gp2', 'protocol', 'revoked',
  'broadcast_notification', 'call_log', 'debug', 'reaction', 'pinned_message', 'ciphertext',
]);

const MEDIA_PLACEHOLDER: Record<string, string> = {
  image: '[image]',
  video: '[video]',
  audio: '[audio]',
  ptt: '[voice message]',
  sticker: '[sticker]',
  document: '[document]',
};

const DEFAULT_MIME: Record<string, string> = {
  image: 'image/jpeg',
  video: 'video/mp4',
  audio: 'audio/ogg',
  ptt: 'audio/ogg',
  sticker: 'image/webp',
};

/** Chats whose messages never become tickets: status updates, broadcasts, channels, and groups unless accepted. */
export function chatIgnoreReason(chatId: string, acceptGroups: boolean): string | undefined {
  if (chatId.endsWith('@broadcast')) return 'status or broadcast';
  if (chatId.endsWith('@newsletter')) return 'channel (newsletter) post';
  if (chatId.endsWith('@g.us') && !acceptGroups) return 'group chat (acceptGroups is off)';
  return undefined;
}

/** Why a message is not a customer's message to support, or undefined when it is one. */
export function ignoreReason(m: WebMessage, acceptGroups: boolean): string | undefined {
  if (m.fromMe || m.id.fromMe) return 'own message';
  if (m.isStatus || m.broadcast) return 'status or broadcast';
  const chat = chatIgnoreReason(m.from, acceptGroups);
  if (chat) return chat;
  if (NOT_CUSTOMER_CONTENT.has(m.type)) return `not a customer message (${m.type})`;
  return undefined;
}

/**
 * A whatsapp-web.js message → a draft keyed by its serialized id. Media is downloaded now, while
 * the client that received it is connected and the media fresh, and kept in the blob store
 * until the helpdesk has it; when WhatsApp hands over nothing the agent is told why.
 */
export async function normalizeMessage(m: WebMessage, deps: NormalizeDeps): Promise<Normalized> {
  const reason = ignoreReason(m, deps.acceptGroups);
  if (reason) return { ignored: reason };

  const lines: string[] = [];
  const attachments: AttachmentRef[] = [];
  const body = m.body?.trim() ?? '';
  if (m.hasMedia) {
    const ref = await fetchMedia(m, deps);
    attachments.push(ref);
    lines.push(body || (m.type === 'document' ? `[document: ${ref.name}]` : MEDIA_PLACEHOLDER[m.type] ?? '[file]'));
  } else if (m.type === 'location' && m.location) {
    const l = m.location;
    const label = [l.name, l.address, l.description].filter(Boolean).join(', ');
    lines.push(`Location${label ? `: ${label}` : ''}`);
    lines.push(`${l.latitude}, ${l.longitude} https://maps.google.com/?q=${l.latitude},${l.longitude}`);
  } else if ((m.type === 'vcard' || m.type === 'multi_vcard') && m.vCards?.length) {
    for (const card of m.vCards) lines.push(`Contact: ${describeVCard(card)}`);
  } else if (body) {
    lines.push(body);
  } else {
    lines.push(`[a WhatsApp message of type "${m.type}" that the gateway cannot show]`);
  }

  const group = m.from.endsWith('@g.us');
  const meta: Record<string, unknown> = { type: m.type, chatId: m.from };
  if (m.hasQuotedMsg) meta.quoted = true;
  return {
    draft: {
      kind: 'message',
      externalId: m.id._serialized,
      dedupeKey: m.id._serialized,
      conversation: { externalId: m.from },
      sender: await senderOf(m, group ? (m.author ?? m.from) : m.from),
      text: lines.join('\n'),
      attachments,
      occurredAt: new Date(m.timestamp * 1000).toISOString(),
      raw: { id: m.id._serialized, from: m.from, type: m.type, timestamp: m.timestamp, body: m.body },
      meta,
    },
  };
}

async function fetchMedia(m: WebMessage, deps: NormalizeDeps): Promise<AttachmentRef> {
  const fallbackName = `${m.type}-${m.id.id}`;
  const unavailable = (why: string): AttachmentRef => ({
    name: fallbackName,
    mime: DEFAULT_MIME[m.type] ?? 'application/octet-stream',
    source: 'none',
    unavailable: why,
  });
  let media;
  try {
    media = await m.downloadMedia();
  } catch (err) {
    return unavailable(`WhatsApp Web failed to download it (${err instanceof Error ? err.message : String(err)}); ask the customer to send it again`);
  }
  if (!media) {
    return unavailable('WhatsApp handed over no file (downloadMedia() returned nothing: the media expired on the sender\'s phone or is being re-uploaded); ask the customer to send it again');
  }
  const data = Buffer.from(media.data, 'base64');
  const name = media.filename?.trim() || `${fallbackName}.${extensionOf(media.mimetype)}`;
  if (data.length > deps.maxFileBytes) {
    return { name, mime: media.mimetype, size: data.length, source: 'none', unavailable: `larger than the configured limit (maxFileBytes) of ${Math.round(deps.maxFileBytes / 1024 / 1024)} MB` };
  }
  return { name, mime: media.mimetype, size: data.length, source: await deps.blobs.put(data) };
}

async function senderOf(m: WebMessage, senderId: string): Promise<Sender> {
  let contact: WebContact | undefined;
  try {
    contact = await m.getContact?.();
  } catch {
    // The contact lookup is a nicety; the id alone identifies the customer.
  }
  const sender: Sender = { externalId: senderId };
  const name = contact?.pushname?.trim() || m._data?.notifyName?.trim() || contact?.name?.trim();
  if (name) sender.displayName = name;
  // `…@c.us` ids are phone numbers; newer `…@lid` ids are not, but the contact may know the number.
  const digits = senderId.endsWith('@c.us') ? senderId.slice(0, -'@c.us'.length) : contact?.number;
  if (digits && /^\d{6,15}$/.test(digits)) sender.phone = `+${digits}`;
  return sender;
}

/** The name and numbers of a shared contact, from its vCard's FN and TEL lines. */
export function describeVCard(card: string): string {
  const lines = card.split(/\r?\n/);
  const fn = lines.find((l) => /^FN[:;]/i.test(l))?.replace(/^FN[^:]*:/i, '').trim();
  const tels = lines.filter((l) => /^(item\d+\.)?TEL[:;]/i.test(l)).map((l) => l.replace(/^[^:]*:/, '').trim());
  return [fn || 'no name', ...tels].join(', ');
}

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'audio/ogg': 'ogg',
  'audio/mpeg': 'mp3',
  'audio/mp4': 'm4a',
  'video/mp4': 'mp4',
  'application/pdf': 'pdf',
};

function extensionOf(mime: string): string {
  return EXTENSIONS[(mime.split(';')[0] ?? '').trim().toLowerCase()] ?? 'bin';
}
