import { z } from 'zod';
import { quickParser } from '../../../src/core/quick-parse.ts';

/**
 * The parts of a Bot API Update the gateway reads. Loose objects: Telegram adds fields
 * often, and an unknown field must never make us reject (and Telegram retry) an update.
 */

const User = z.looseObject({
  id: z.number().int(),
  is_bot: z.boolean().optional(),
  first_name: z.string(),
  last_name: z.string().optional(),
  username: z.string().optional(),
  language_code: z.string().optional(),
});

const Chat = z.looseObject({
  id: z.number().int(),
  type: z.string(),
  title: z.string().optional(),
  username: z.string().optional(),
  first_name: z.string().optional(),
  last_name: z.string().optional(),
});

const FileBase = {
  file_id: z.string().min(1),
  file_unique_id: z.string().min(1),
  file_size: z.number().int().nonnegative().optional(),
};

const PhotoSize = z.looseObject({ ...FileBase, width: z.number(), height: z.number() });

const MediaFile = z.looseObject({
  ...FileBase,
  file_name: z.string().optional(),
  mime_type: z.string().optional(),
  duration: z.number().optional(),
});

const Location = z.looseObject({ latitude: z.number(), longitude: z.number(), live_period: z.number().optional() });

export const TgMessage = z.looseObject({
  message_id: z.number().int(),
  date: z.number().int(),
  edit_date: z.number().int().optional(),
  chat: Chat,
  from: User.optional(),
  sender_chat: Chat.optional(),
  message_thread_id: z.number().int().optional(),
  media_group_id: z.string().optional(),
  reply_to_message: z.looseObject({ message_id: z.number().int() }).optional(),
  text: z.string().optional(),
  caption: z.string().optional(),
  photo: z.array(PhotoSize).optional(),
  document: MediaFile.optional(),
  animation: MediaFile.optional(),
  voice: MediaFile.optional(),
  video: MediaFile.optional(),
  video_note: MediaFile.optional(),
  audio: MediaFile.extend({ performer: z.string().optional(), title: z.string().optional() }).optional(),
  sticker: MediaFile.extend({
    emoji: z.string().optional(),
    is_animated: z.boolean().optional(),
    is_video: z.boolean().optional(),
  }).optional(),
  contact: z.looseObject({
    phone_number: z.string(),
    first_name: z.string(),
    last_name: z.string().optional(),
    user_id: z.number().int().optional(),
  }).optional(),
  location: Location.optional(),
  venue: z.looseObject({ location: Location, title: z.string(), address: z.string() }).optional(),
  poll: z.looseObject({ question: z.string() }).optional(),
  dice: z.looseObject({ emoji: z.string(), value: z.number() }).optional(),
});
export type TgMessage = z.infer<typeof TgMessage>;
export type TgMediaFile = z.infer<typeof MediaFile>;

/** A press of an inline keyboard button; `message` is the bot's message that carried the keyboard. */
export const TgCallbackQuery = z.looseObject({
  id: z.string().min(1),
  from: User,
  message: z.looseObject({ message_id: z.number().int(), chat: Chat }).optional(),
  data: z.string().optional(),
});
export type TgCallbackQuery = z.infer<typeof TgCallbackQuery>;

export const TgUpdate = z.looseObject({
  update_id: z.number().int(),
  message: TgMessage.optional(),
  edited_message: TgMessage.optional(),
  callback_query: TgCallbackQuery.optional(),
});
export type TgUpdate = z.infer<typeof TgUpdate>;

export type ParsedUpdate = { ok: true; update: TgUpdate } | { ok: false; error: string };

const updateParser = quickParser(TgUpdate);

/** Validates a decoded JSON value as an Update; the error names the first bad field. */
export function parseUpdate(value: unknown): ParsedUpdate {
  const result = updateParser.safeParse(value);
  if (result.success) return { ok: true, update: result.data };
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'update';
  return { ok: false, error: `not a Telegram update: ${where}: ${issue?.message ?? 'invalid'}` };
}
