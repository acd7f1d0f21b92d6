import { describe, expect, it } from 'vitest';
import { normalizeUpdate } from '../../connectors/channels/telegram/normalize.ts';
import { parseUpdate } from '../../connectors/channels/telegram/update.ts';
import { NormalizedMessage, type InboundDraft } from '../../src/core/message.ts';
import { tgUpdate } from '../fakes/telegram-server.ts';

const MB = 1024 * 1024;

function normalize(update: object, maxFileBytes = 20 * MB) {
  const parsed = parseUpdate(update);
  if (!parsed.ok) throw new Error(parsed.error);
  return normalizeUpdate(parsed.update, { maxFileBytes });
}

function draftOf(update: object, maxFileBytes?: number): InboundDraft {
  const result = normalize(update, maxFileBytes);
  if (!('draft' in result)) throw new Error(`ignored: ${result.ignored}`);
  // Every draft must be a valid normalized message once the gateway stamps it.
  NormalizedMessage.parse({ ...result.draft, id: 'x', receivedAt: new Date().toISOString(), channel: { id: 'tg', kind: 'telegram' } });
  return result.draft;
}

describe('normalizeUpdate', () => {
  it('turns a private text message into a message draft keyed by chat and message id', () => {
    const update = tgUpdate.text(5000000001, 'Где мой вывод?', {
      updateId: 77,
      messageId: 12,
      date: 1_700_000_000,
      from: { id: 5000000001, first_name: 'Aziz', last_name: 'Karimov', username: 'aziz_k', language_code: 'uz' },
    });
    const d = draftOf(update);
    expect(d).toMatchObject({
      kind: 'message',
      externalId: '5000000001:12',
      dedupeKey: '5000000001:12',
      conversation: { externalId: '5000000001' },
      sender: { externalId: '5000000001', displayName: 'Aziz Karimov', username: 'aziz_k', locale: 'uz' },
      text: 'Где мой вывод?',
      attachments: [],
      occurredAt: '2023-11-14T22:13:20.000Z',
      meta: { updateId: 77, chatType: 'private' },
    });
    expect(d.sender.phone).toBeUndefined();
    expect(d.raw).toEqual(update);
  });

  it('keeps chat ids beyond 32 bits exact, as strings', () => {
    const d = draftOf(tgUpdate.text(-1001234567890123, 'hi', { messageId: 3 }));
    expect(d.conversation.externalId).toBe('-1001234567890123');
    expect(d.externalId).toBe('-1001234567890123:3');
  });

  it('takes only the largest size of a photo, with its caption as text', () => {
    const d = draftOf(tgUpdate.photo(42, { fileId: 'big-photo', caption: 'мой паспорт', size: 250_000 }));
    expect(d.text).toBe('мой паспорт');
    expect(d.attachments).toEqual([
      { name: 'photo-Ubig-photo.jpg', mime: 'image/jpeg', size: 250_000, source: 'big-photo' },
    ]);
  });

  it('picks the largest photo by pixels even when Telegram lists it first', () => {
    const update = tgUpdate.photo(42, { fileId: 'p' });
    const msg = update.message as { photo: unknown[] };
    msg.photo.reverse();
    expect(draftOf(update).attachments?.map((a) => a.source)).toEqual(['p']);
  });

  it('takes the last of the sizes the builder was given, smallest first', () => {
    const update = tgUpdate.photo(42, [{ fileId: 'small', size: 100 }, { fileId: 'big', size: 5000 }], { caption: 'чек', firstName: 'Azamat' });
    const d = draftOf(update);
    expect(d.attachments).toEqual([{ name: 'photo-Ubig.jpg', mime: 'image/jpeg', size: 5000, source: 'big' }]);
    expect(d.text).toBe('чек');
    expect(d.sender.displayName).toBe('Azamat Karimov');
  });

  it('gives a photo without caption a placeholder line so the agent sees something', () => {
    expect(draftOf(tgUpdate.photo(42)).text).toBe('[photo]');
  });

  it('keeps a document\'s own name and MIME type', () => {
    const d = draftOf(tgUpdate.document(42, { fileId: 'doc1', name: 'выписка.pdf', mime: 'application/pdf', size: 52_000 }));
    expect(d.text).toBe('[document: выписка.pdf]');
    expect(d.attachments).toEqual([{ name: 'выписка.pdf', mime: 'application/pdf', size: 52_000, source: 'doc1' }]);
  });

  it('names a document without file_name from its type, unique id and MIME', () => {
    const d = draftOf(tgUpdate.document(42, { fileId: 'doc2', mime: 'image/png', caption: 'скрин' }));
    expect(d.text).toBe('скрин');
    expect(d.attachments?.[0]).toMatchObject({ name: 'document-Udoc2.png', mime: 'image/png', source: 'doc2' });
  });

  it('describes a voice message with its duration and defaults its MIME to audio/ogg', () => {
    const d = draftOf(tgUpdate.voice(42, { fileId: 'v1', duration: 72, size: 9000 }));
    expect(d.text).toBe('[voice message 1:12]');
    expect(d.attachments).toEqual([{ name: 'voice-Uv1.ogg', mime: 'audio/ogg', size: 9000, source: 'v1' }]);
  });

  it('describes a video and defaults its MIME to video/mp4', () => {
    const d = draftOf(tgUpdate.video(42, { fileId: 'vid', duration: 3725 }));
    expect(d.text).toBe('[video 1:02:05]');
    expect(d.attachments?.[0]).toMatchObject({ name: 'video-Uvid.mp4', mime: 'video/mp4', source: 'vid' });
  });

  it('sets sender.phone when users share their own contact', () => {
    const update = tgUpdate.contact(42, { phone: '998901234567', firstName: 'Aziz', lastName: 'Karimov', userId: 42 }, { from: { id: 42 } });
    const d = draftOf(update);
    expect(d.sender.phone).toBe('+998901234567');
    expect(d.text).toBe('Contact (their own number): Aziz Karimov, +998901234567');
  });

  it('does not take someone else\'s shared contact as the sender\'s phone', () => {
    const update = tgUpdate.contact(42, { phone: '+79001112233', firstName: 'Olga', userId: 99 }, { from: { id: 42 } });
    const d = draftOf(update);
    expect(d.sender.phone).toBeUndefined();
    expect(d.text).toBe('Contact: Olga, +79001112233');
  });

  it('writes a location as coordinates with a map link', () => {
    const d = draftOf(tgUpdate.location(42, 41.311081, 69.240562));
    expect(d.text).toBe('Location: 41.311081, 69.240562 https://maps.google.com/?q=41.311081,69.240562');
    expect(d.attachments).toEqual([]);
  });

  it('makes an edit its own event, keyed by the edit date', () => {
    const d = draftOf(tgUpdate.edit(42, 12, 'исправленный текст', { editDate: 1_700_000_100, date: 1_700_000_000 }));
    expect(d).toMatchObject({
      kind: 'edit',
      externalId: '42:12',
      dedupeKey: '42:12:edit:1700000100',
      text: 'исправленный текст',
      occurredAt: '2023-11-14T22:15:00.000Z',
    });
  });

  it('gives every message of an album the same batch key', () => {
    const drafts = tgUpdate.album(42, [{ caption: 'чек' }, {}, {}], { groupId: '13579' }).map((u) => draftOf(u));
    expect(drafts.map((d) => d.meta?.batchKey)).toEqual(['album:13579', 'album:13579', 'album:13579']);
    expect(new Set(drafts.map((d) => d.dedupeKey)).size).toBe(3);
    expect(drafts.map((d) => d.text)).toEqual(['чек', '[photo]', '[photo]']);
  });

  it('flags a file over the download limit as unavailable but still lists it', () => {
    const d = draftOf(tgUpdate.video(42, { fileId: 'huge', size: 25 * MB }));
    expect(d.attachments?.[0]).toMatchObject({
      source: 'huge',
      size: 25 * MB,
      unavailable: 'larger than the Bot API download limit of 20 MB',
    });
  });

  it('names the configured limit when maxFileBytes is not the Bot API default', () => {
    const d = draftOf(tgUpdate.document(42, { fileId: 'd', size: 6 * MB }), 5 * MB);
    expect(d.attachments?.[0]?.unavailable).toBe('larger than the configured download limit (maxFileBytes) of 5 MB');
  });

  it('accepts group messages: the conversation is the group, the sender is the user', () => {
    const d = draftOf(tgUpdate.text(-100777, 'help', { from: { id: 555, first_name: 'Dilnoza', last_name: 'Yusupova' } }));
    expect(d.conversation.externalId).toBe('-100777');
    expect(d.sender).toMatchObject({ externalId: '555', displayName: 'Dilnoza Yusupova' });
    expect(d.meta).toMatchObject({ chatType: 'supergroup', chatTitle: 'Support group' });
  });

  it('keeps the GIF of an animation and not the duplicate document Telegram adds', () => {
    const animation = { file_id: 'gif1', file_unique_id: 'Ugif1', mime_type: 'video/mp4', file_name: 'fun.mp4' };
    const d = draftOf(tgUpdate.text(42, '', { extra: { text: undefined, animation, document: animation } }));
    expect(d.attachments).toHaveLength(1);
    expect(d.text).toBe('[GIF]');
  });

  it('a button press becomes an event carrying the button data as its choice, keyed by the callback query id', () => {
    const d = draftOf(tgUpdate.callbackQuery(42, 'csat:01J00000000000000000000000:4', { queryId: 'cbq-1', messageId: 7, languageCode: 'uz' }));
    expect(d).toMatchObject({ kind: 'event', choice: 'csat:01J00000000000000000000000:4', externalId: 'cb:cbq-1', dedupeKey: 'cb:cbq-1', conversation: { externalId: '42' } });
    expect(d.sender).toMatchObject({ externalId: '42', locale: 'uz' });
    expect(d.meta).toMatchObject({ callbackQueryId: 'cbq-1', replyTo: '42:7' });
    // A game button (no data) and data longer than Telegram's 64 bytes are not presses the gateway asked for.
    expect(normalize(tgUpdate.callbackQuery(42, ''))).toEqual({ ignored: 'callback query without data (a game button)' });
    expect(normalize(tgUpdate.callbackQuery(42, 'x'.repeat(65)))).toEqual({ ignored: 'callback data longer than Telegram allows' });
  });

  it('ignores updates the gateway does not handle, saying which', () => {
    expect(normalize({ update_id: 5, channel_post: { message_id: 1, date: 1, chat: { id: -1, type: 'channel' } } }))
      .toEqual({ ignored: 'update type not handled: channel_post' });
  });

  it('ignores service messages such as a member joining', () => {
    const update = tgUpdate.text(-100777, '', { extra: { text: undefined, new_chat_members: [{ id: 1, is_bot: false, first_name: 'X' }] } });
    expect(normalize(update)).toEqual({ ignored: 'service message: new_chat_members' });
  });

  it('still delivers a message of a type it cannot show, saying so', () => {
    const update = tgUpdate.text(42, '', { extra: { text: undefined, giveaway: { chats: [] } } });
    expect(draftOf(update).text).toBe('[a message of a type the gateway cannot show]');
  });
});

describe('parseUpdate', () => {
  it('names the field that is wrong', () => {
    const r = parseUpdate({ update_id: 1, message: { message_id: 1, date: 1, chat: { id: 'abc', type: 'private' } } });
    expect(r).toMatchObject({ ok: false });
    expect(!r.ok && r.error).toMatch(/^not a Telegram update: message\.chat\.id: /);
  });

  it('rejects something that is not an update at all', () => {
    const r = parseUpdate({ hello: 'world' });
    expect(!r.ok && r.error).toMatch(/update_id/);
  });
});
