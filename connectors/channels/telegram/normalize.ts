import type { AttachmentRef, InboundDraft, Sender } from '../../../src/core/message.ts';
import { BOT_API_DOWNLOAD_LIMIT } from './options.ts';
import type { TgCallbackQuery, TgMediaFile, TgMessage, TgUpdate } from './update.ts';
import { formatBytes } from '../../../src/core/format-bytes.ts';
import { verifyPlayerToken } from '../../../src/core/identity/player-token.ts';

export interface NormalizeOptions {
  maxFileBytes: number;
  /** Verifies the player token of a `/start <token>` deep link (docs/identity.md). */
  playerLinkSecret?: string;
}

export type Normalized = { draft: InboundDraft } | { ignored: string };

/** Keys of messages Telegram generates about the chat itself; nobody wrote to support. */
const SERVICE_KEYS = [
  'new_chat_members', 'left_chat_member', 'new_chat_title', 'new_chat_photo', 'delete_chat_photo',
  'group_chat_created', 'supergroup_chat_created', 'channel_chat_created', 'migrate_to_chat_id',
  'migrate_from_chat_id', 'pinned_message', 'message_auto_delete_timer_changed', 'forum_topic_created',
  'forum_topic_edited', 'forum_topic_closed', 'forum_topic_reopened', 'general_forum_topic_hidden',
  'general_forum_topic_unhidden', 'video_chat_scheduled', 'video_chat_started', 'video_chat_ended',
  'video_chat_participants_invited', 'write_access_allowed', 'users_shared', 'chat_shared',
  'boost_added', 'chat_background_set', 'proximity_alert_triggered',
];

/**
 * One Update → one draft, or the reason it is not a customer message.
 *
 * Keys: `chat:message_id` (message ids are unique only within a chat), plus `:edit:edit_date`
 * for edits so each edit is its own event. `update_id` alone is not used because Telegram may
 * restart the sequence after a week without updates; it is kept in `meta.updateId`.
 */
export function normalizeUpdate(update: TgUpdate, opts: NormalizeOptions): Normalized {
  if (update.callback_query) return normalizeCallback(update.update_id, update.callback_query);
  const message = update.message ?? update.edited_message;
  if (!message) return { ignored: `update type not handled: ${updateType(update)}` };

  const content = describeContent(message, opts);
  if (content.text === '' && content.attachments.length === 0) {
    const service = SERVICE_KEYS.find((k) => k in message);
    if (service) return { ignored: `service message: ${service}` };
    content.text = '[a message of a type the gateway cannot show]';
  }

  const chatId = String(message.chat.id);
  const externalId = `${chatId}:${message.message_id}`;
  const isEdit = update.message === undefined;
  const editDate = message.edit_date ?? message.date;

  const meta: Record<string, unknown> = { updateId: update.update_id, chatType: message.chat.type };
  if (message.chat.title !== undefined) meta.chatTitle = message.chat.title;
  if (message.media_group_id !== undefined) meta.batchKey = `album:${message.media_group_id}`;
  if (message.message_thread_id !== undefined) meta.threadId = message.message_thread_id;
  if (message.reply_to_message) meta.replyTo = `${chatId}:${message.reply_to_message.message_id}`;

  const sender = senderOf(message);
  const start = isEdit ? undefined : deepLink(message, opts.playerLinkSecret);
  if (start?.playerId) sender.playerId = start.playerId;
  if (start) meta.playerLink = start.playerId ? 'verified' : start.refused;

  const draft: InboundDraft = {
    kind: isEdit ? 'edit' : 'message',
    externalId,
    dedupeKey: isEdit ? `${externalId}:edit:${editDate}` : externalId,
    conversation: { externalId: chatId },
    sender,
    text: start?.text ?? content.text,
    attachments: content.attachments,
    occurredAt: new Date((isEdit ? editDate : message.date) * 1000).toISOString(),
    raw: update,
    meta,
  };
  return { draft };
}

/** Telegram allows 64 bytes of callback data; anything longer was not set by a bot. */
const MAX_CALLBACK_DATA = 64;

/**
 * A button press: an event carrying the button's data as the message's `choice`, keyed by the
 * callback query id (Telegram sends the same id when it redelivers the update). The core decides
 * what the choice means; the text is only what an agent would read if it ever got there.
 */
function normalizeCallback(updateId: number, cb: TgCallbackQuery): Normalized {
  if (cb.data === undefined || cb.data === '') return { ignored: 'callback query without data (a game button)' };
  if (Buffer.byteLength(cb.data) > MAX_CALLBACK_DATA) return { ignored: 'callback data longer than Telegram allows' };
  const chatId = String(cb.message?.chat.id ?? cb.from.id);
  const draft: InboundDraft = {
    kind: 'event',
    externalId: `cb:${cb.id}`,
    dedupeKey: `cb:${cb.id}`,
    conversation: { externalId: chatId },
    sender: userSender(cb.from),
    text: '[pressed a button]',
    choice: cb.data,
    occurredAt: new Date().toISOString(),
    raw: { update_id: updateId, callback_query: cb },
    meta: { updateId, callbackQueryId: cb.id, ...(cb.message ? { replyTo: `${chatId}:${cb.message.message_id}` } : {}) },
  };
  return { draft };
}

/**
 * `/start <payload>` from a `t.me/<bot>?start=<payload>` link. In a private chat with the bot's
 * `playerLinkSecret` set, a payload that verifies as a player token says who the sender is; the
 * token itself never reaches the ticket (it is a credential until it expires).
 */
function deepLink(message: TgMessage, secret: string | undefined): { text: string; playerId?: string; refused?: string } | undefined {
  const m = /^\/start(?:@\w+)?\s+(\S{1,64})\s*$/.exec(message.text ?? '');
  if (!m || !message.from || message.chat.type !== 'private') return undefined;
  if (!secret) return { text: '/start (from a link; no player link secret is configured, so it links nothing)', refused: 'no secret configured' };
  const check = verifyPlayerToken(m[1]!, [secret]);
  if (check.ok) return { text: `/start (opened from the website, signed in as player ${check.playerId})`, playerId: check.playerId };
  return { text: `/start (from a link whose player token was refused: ${check.reason}; nothing was linked)`, refused: check.reason };
}

function updateType(update: TgUpdate): string {
  return Object.keys(update).find((k) => k !== 'update_id') ?? 'empty';
}

function senderOf(message: TgMessage): Sender {
  const from = message.from;
  if (!from) {
    // Channel-style posts and anonymous group admins: the chat speaks.
    const chat = message.sender_chat ?? message.chat;
    return compact({
      externalId: String(chat.id),
      displayName: chat.title ?? joinName(chat.first_name, chat.last_name),
      username: chat.username,
    });
  }
  const contact = message.contact;
  const ownPhone = contact && contact.user_id === from.id ? formatPhone(contact.phone_number) : undefined;
  return compact({ ...userSender(from), phone: ownPhone });
}

function userSender(from: NonNullable<TgMessage['from']>): Sender {
  return compact({
    externalId: String(from.id),
    displayName: joinName(from.first_name, from.last_name),
    username: from.username,
    locale: from.language_code,
  });
}

interface Content {
  text: string;
  attachments: AttachmentRef[];
}

function describeContent(message: TgMessage, opts: NormalizeOptions): Content {
  const lines: string[] = [];
  const attachments: AttachmentRef[] = [];
  const typed = message.text ?? message.caption;
  if (typed !== undefined && typed !== '') lines.push(typed);
  const placeholder = (line: string) => {
    if (typed === undefined || typed === '') lines.push(line);
  };
  const attach = (file: TgMediaFile, kind: string, defaultMime: string) => {
    attachments.push(attachmentOf(file, kind, defaultMime, opts.maxFileBytes));
  };

  const biggest = largestPhoto(message.photo);
  if (biggest) {
    attach(biggest, 'photo', 'image/jpeg');
    placeholder('[photo]');
  }
  if (message.animation) {
    // Telegram also fills `document` for GIFs; the animation is the one to keep.
    attach(message.animation, 'animation', 'video/mp4');
    placeholder('[GIF]');
  } else if (message.document) {
    attach(message.document, 'document', 'application/octet-stream');
    placeholder(`[document: ${attachments.at(-1)?.name}]`);
  }
  if (message.voice) {
    attach(message.voice, 'voice', 'audio/ogg');
    placeholder(`[voice message ${duration(message.voice.duration)}]`);
  }
  if (message.video) {
    attach(message.video, 'video', 'video/mp4');
    placeholder(`[video ${duration(message.video.duration)}]`);
  }
  if (message.video_note) {
    attach(message.video_note, 'video_note', 'video/mp4');
    placeholder(`[video message ${duration(message.video_note.duration)}]`);
  }
  if (message.audio) {
    const a = message.audio;
    attach(a, 'audio', 'audio/mpeg');
    const title = [a.performer, a.title].filter(Boolean).join(' – ');
    placeholder(`[audio${title ? `: ${title}` : ''} ${duration(a.duration)}]`);
  }
  if (message.sticker) {
    const s = message.sticker;
    const mime = s.is_animated ? 'application/x-tgsticker' : s.is_video ? 'video/webm' : 'image/webp';
    attach(s, 'sticker', mime);
    placeholder(`[sticker${s.emoji ? ` ${s.emoji}` : ''}]`);
  }
  if (message.contact) {
    const c = message.contact;
    const own = message.from !== undefined && c.user_id === message.from.id;
    lines.push(`Contact${own ? ' (their own number)' : ''}: ${joinName(c.first_name, c.last_name)}, ${formatPhone(c.phone_number)}`);
  }
  if (message.venue) {
    lines.push(`Venue: ${message.venue.title}, ${message.venue.address}`);
  }
  const location = message.location ?? message.venue?.location;
  if (location) {
    const at = `${location.latitude}, ${location.longitude}`;
    const label = location.live_period ? 'Live location' : 'Location';
    lines.push(`${label}: ${at} https://maps.google.com/?q=${location.latitude},${location.longitude}`);
  }
  if (message.poll) lines.push(`[poll: ${message.poll.question}]`);
  if (message.dice) lines.push(`[dice ${message.dice.emoji} ${message.dice.value}]`);
  return { text: lines.join('\n'), attachments };
}

/** Telegram sends several sizes of the same picture; only the largest is worth attaching. */
function largestPhoto<T extends { width: number; height: number; file_size?: number }>(sizes: T[] | undefined): T | undefined {
  if (!sizes || sizes.length === 0) return undefined;
  const area = (p: T) => p.width * p.height;
  return sizes.reduce((best, p) => (area(p) > area(best) || (area(p) === area(best) && (p.file_size ?? 0) > (best.file_size ?? 0)) ? p : best));
}

function attachmentOf(file: TgMediaFile, kind: string, defaultMime: string, maxFileBytes: number): AttachmentRef {
  const mime = file.mime_type ?? defaultMime;
  const ref: AttachmentRef = {
    name: file.file_name ?? `${kind}-${file.file_unique_id}.${extensionOf(mime)}`,
    mime,
    source: file.file_id,
  };
  if (file.file_size !== undefined) {
    ref.size = file.file_size;
    if (file.file_size > maxFileBytes) ref.unavailable = tooLargeReason(maxFileBytes);
  }
  return ref;
}

export function tooLargeReason(maxFileBytes: number): string {
  return maxFileBytes === BOT_API_DOWNLOAD_LIMIT
    ? `larger than the Bot API download limit of ${formatBytes(maxFileBytes)}`
    : `larger than the configured download limit (maxFileBytes) of ${formatBytes(maxFileBytes)}`;
}

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'audio/ogg': 'ogg',
  'audio/mpeg': 'mp3',
  'audio/mp4': 'm4a',
  'video/mp4': 'mp4',
  'video/webm': 'webm',
  'video/quicktime': 'mov',
  'application/pdf': 'pdf',
  'application/zip': 'zip',
  'application/x-tgsticker': 'tgs',
  'text/plain': 'txt',
};

function extensionOf(mime: string): string {
  return EXTENSIONS[mime] ?? 'bin';
}

function duration(seconds: number | undefined): string {
  const total = Math.max(0, Math.round(seconds ?? 0));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** Telegram gives numbers without the leading "+" when the user shares a contact. */
function formatPhone(phone: string): string {
  const trimmed = phone.trim();
  return /^\d+$/.test(trimmed) ? `+${trimmed}` : trimmed;
}

function joinName(first: string | undefined, last: string | undefined): string | undefined {
  const name = [first, last].filter((p) => p !== undefined && p !== '').join(' ');
  return name === '' ? undefined : name;
}

/** The sender without its undefined fields (every message: a loop, not entries/filter/fromEntries). */
function compact(sender: Sender): Sender {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(sender)) {
    const value = sender[key as keyof Sender];
    if (value !== undefined) out[key] = value;
  }
  return out as Sender;
}
