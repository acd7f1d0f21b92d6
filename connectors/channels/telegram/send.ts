import { GrammyError, InputFile, type Api } from 'grammy';
import { z } from 'zod';
import type { Conversation, FetchedFile, KeyValueStore, ReplyToSend, SendResult } from '../../../src/core/connector.ts';
import { telegramError } from './errors.ts';
import { formatBytes } from '../../../src/core/format-bytes.ts';
import type { ChatPacer } from './pace.ts';
import { splitText } from '../../../src/kit/outbound/split-text.ts';
import { SentParts } from '../../../src/kit/outbound/sent-parts.ts';

/** Bot API upload limits: sendPhoto takes up to 10 MB, sendDocument up to 50 MB. */
export const PHOTO_LIMIT = 10 * 1024 * 1024;
export const DOCUMENT_LIMIT = 50 * 1024 * 1024;
const PHOTO_MIMES = new Set(['image/jpeg', 'image/png', 'image/webp']);

/** Inline keyboard rows: each button's callback data comes back in a callback query. */
export type Keyboard = { text: string; callback_data: string }[][];

export type Part =
  | { method: 'sendMessage'; text: string; keyboard?: Keyboard }
  | { method: 'sendPhoto' | 'sendDocument'; file: FetchedFile };

export interface Plan {
  parts: Part[];
  /** Files that will not reach the customer, said for the agent. */
  notes: string[];
}

/**
 * Decides which Bot API calls carry a reply: the text first, as messages, then the files.
 * The text never rides as a caption: a file Telegram refuses must not take the agent's
 * words down with it, and on a retry the text is already out.
 */
export function planReply(reply: Pick<ReplyToSend, 'text' | 'files' | 'choices'>): Plan {
  const notes: string[] = [];
  const files: Part[] = [];
  for (const file of reply.files) {
    const size = file.data.length;
    if (size > DOCUMENT_LIMIT) {
      notes.push(`"${file.name}" (${formatBytes(size)}) was not sent: Telegram bots can send files up to ${formatBytes(DOCUMENT_LIMIT)}`);
      continue;
    }
    const asPhoto = PHOTO_MIMES.has(file.mime.toLowerCase()) && size <= PHOTO_LIMIT;
    files.push({ method: asPhoto ? 'sendPhoto' : 'sendDocument', file });
  }
  const texts: Part[] = splitText(reply.text).map((t) => ({ method: 'sendMessage', text: t }));
  // Choices ride on the last text message, as one row of buttons.
  const last = texts.at(-1);
  if (reply.choices && last?.method === 'sendMessage') {
    last.keyboard = [reply.choices.options.map((o) => ({ text: o.label, callback_data: o.id }))];
  }
  return { parts: [...texts, ...files], notes };
}

export interface SendDeps {
  api: Api;
  kv: KeyValueStore;
  pacer: ChatPacer;
  channelId: string;
  token: string;
}

/**
 * Sends a reply, part by part. Each part sent is recorded under the reply id before the next
 * one goes, so a retry after a failure in the middle sends only what is missing.
 */
export async function sendReply(deps: SendDeps, to: Conversation, reply: ReplyToSend): Promise<SendResult> {
  const chatId = to.externalId;
  const { parts, notes } = planReply(reply);
  const sent = await SentParts.open(deps.kv, `telegram:${deps.channelId}:sent:${reply.replyId}`, z.number().int());
  const externalIds: string[] = [];

  for (const [index, part] of parts.entries()) {
    const messageId = await sent.once(index, contentOf(part), async () => {
      await deps.pacer.wait(chatId);
      try {
        return await callPart(deps.api, chatId, part);
      } catch (err) {
        throw telegramError(`${part.method} to chat ${chatId}`, err, deps.token);
      }
    });
    externalIds.push(`${chatId}:${messageId}`);
  }
  return notes.length > 0 ? { externalIds, notes } : { externalIds };
}

async function callPart(api: Api, chatId: string, part: Part): Promise<number> {
  if (part.method === 'sendMessage') {
    const markup = part.keyboard ? { reply_markup: { inline_keyboard: part.keyboard } } : undefined;
    return (await api.sendMessage(chatId, part.text, markup)).message_id;
  }
  const upload = () => new InputFile(part.file.data, safeFilename(part.file.name));
  if (part.method === 'sendDocument') return (await api.sendDocument(chatId, upload())).message_id;
  try {
    return (await api.sendPhoto(chatId, upload())).message_id;
  } catch (err) {
    // Telegram refuses some images as photos (dimensions, format); the same bytes go as a file.
    if (!(err instanceof GrammyError) || err.error_code !== 400) throw err;
    return (await api.sendDocument(chatId, upload())).message_id;
  }
}

/** grammY writes the name into a multipart header: no line breaks or quotes may stay in it. */
function safeFilename(name: string): string {
  // eslint-disable-next-line no-control-regex
  const cleaned = name.replace(/[\u0000-\u001f\u007f"]/g, '_').trim();
  return cleaned === '' ? 'file' : cleaned;
}

/** What a recorded part is tied to, so a changed reply never skips a part it did not send. */
function contentOf(part: Part): (string | Uint8Array)[] {
  return part.method === 'sendMessage' ? [part.text, ...(part.keyboard ? [JSON.stringify(part.keyboard)] : [])] : [part.method, part.file.name, part.file.data];
}
