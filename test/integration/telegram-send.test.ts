import { afterEach, describe, expect, it } from 'vitest';
import { createTelegramChannel } from '../../connectors/channels/telegram/channel.ts';
import { formatWebhookInfo, setWebhook, webhookInfo } from '../../connectors/channels/telegram/webhook-admin.ts';
import { TelegramOptions } from '../../connectors/channels/telegram/options.ts';
import type { Conversation, ReplyToSend } from '../../src/core/connector.ts';
import { startFakeTelegram, type FakeTelegram } from '../fakes/telegram-server.ts';
import { channelContext } from '../fixtures/channel-context.ts';
import { deliveryFailure as failure } from '../fixtures/message.ts';
import { waitFor } from '../fixtures/wait.ts';

const TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';
const SECRET = 'wh_secret-0123456789';
const NO_PACE = { pace: { privateIntervalMs: 0, groupIntervalMs: 0 }, backoff: { initialMs: 5, maxMs: 20 } };
const MB = 1024 * 1024;

let fake: FakeTelegram | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function setup(extra: Record<string, unknown> = {}) {
  fake = await startFakeTelegram({ token: TOKEN });
  const rec = channelContext({ channelId: 'tg' });
  const options = TelegramOptions.parse({ token: TOKEN, secretToken: SECRET, apiRoot: fake.apiRoot, ...extra });
  const channel = createTelegramChannel(options, rec.ctx, NO_PACE);
  return { fake, rec, channel, options };
}

const to: Conversation = { channelId: 'tg', externalId: '5000000001', sender: { externalId: '5000000001' } };
const reply = (text: string, extra: Partial<ReplyToSend> = {}): ReplyToSend => ({ text, files: [], replyId: 'c-1', ...extra });


describe('telegram send', () => {
  it('sends a short reply as one message and returns its id', async () => {
    const { fake, channel } = await setup();
    const result = await channel.send(to, reply('Выплата отправлена, ожидайте 15 минут.'));
    expect(fake.sent).toEqual([
      { method: 'sendMessage', chat_id: '5000000001', text: 'Выплата отправлена, ожидайте 15 минут.', message_id: 1 },
    ]);
    expect(result).toEqual({ externalIds: ['5000000001:1'] });
  });

  it('a question with choices goes as one message with a row of inline buttons; a retry sends nothing twice', async () => {
    const { fake, channel } = await setup();
    const choices = { options: [1, 2, 3, 4, 5].map((n) => ({ id: `csat:01J00000000000000000000000:${n}`, label: `${n} ⭐` })), menu: 'Rate', language: 'en' };
    await channel.send(to, reply('Please rate our help from 1 to 5.', { choices, replyId: 'csat:q1' }));
    await channel.send(to, reply('Please rate our help from 1 to 5.', { choices, replyId: 'csat:q1' }));
    expect(fake.sent).toHaveLength(1);
    expect(fake.sent[0]!.text).toBe('Please rate our help from 1 to 5.');
    expect(fake.sent[0]!.buttons).toEqual([choices.options.map((o) => ({ text: o.label, callback_data: o.id }))]);
  });

  it('splits a long reply at 4096 characters on paragraph boundaries, filling each message', async () => {
    const { fake, channel } = await setup();
    const [a, b, c] = ['А'.repeat(3000), 'Б'.repeat(3000), 'В'.repeat(100)];
    const result = await channel.send(to, reply(`${a}\n\n${b}\n\n${c}`));
    const texts = fake.sent.map((s) => s.text ?? '');
    expect(texts.map((t) => t.length)).toEqual([3000, 3102]);
    expect(texts).toEqual([a, `${b}\n\n${c}`]);
    expect(result.externalIds).toEqual(fake.sent.map((s) => `5000000001:${s.message_id}`));
  });

  it('sends the text, then uploads the photo', async () => {
    const { fake, channel } = await setup();
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
    const result = await channel.send(to, reply('Ваш чек', { files: [{ name: 'чек оплаты.png', mime: 'image/png', data: png }] }));
    expect(fake.sent.map((s) => [s.method, s.text])).toEqual([['sendMessage', 'Ваш чек'], ['sendPhoto', undefined]]);
    expect(fake.sent[1]).toMatchObject({ chat_id: '5000000001', file: { name: 'чек оплаты.png' } });
    expect(fake.sent[1]?.file?.data.equals(png)).toBe(true);
    expect(result.externalIds).toHaveLength(2);
  });

  it('sends an image Telegram refuses as a photo as a document instead', async () => {
    const { fake, channel } = await setup();
    fake.failNext('sendPhoto', 1, { error_code: 400, description: 'Bad Request: PHOTO_INVALID_DIMENSIONS' });
    await channel.send(to, reply('', { files: [{ name: 'long.png', mime: 'image/png', data: Buffer.from('png') }] }));
    expect(fake.sent.map((s) => [s.method, s.file?.name])).toEqual([['sendDocument', 'long.png']]);
  });

  it('sends a PDF as a document and tells the agent about a file too big to send', async () => {
    const { fake, channel } = await setup();
    const pdf = Buffer.from('%PDF-1.4 test');
    const result = await channel.send(to, reply('', {
      files: [
        { name: 'act.pdf', mime: 'application/pdf', data: pdf },
        { name: 'video.mp4', mime: 'video/mp4', data: Buffer.alloc(51 * MB) },
      ],
    }));
    expect(fake.sent.map((s) => [s.method, s.file?.name])).toEqual([['sendDocument', 'act.pdf']]);
    expect(result.notes).toEqual(['"video.mp4" (51 MB) was not sent: Telegram bots can send files up to 50 MB']);
  });

  it('turns 429 into rate_limited with the wait Telegram asked for', async () => {
    const { fake, channel } = await setup();
    fake.failNext('sendMessage', 1, { error_code: 429, description: 'Too Many Requests: retry after 12', retry_after: 12 });
    const err = await failure(channel.send(to, reply('hello')));
    expect(err).toMatchObject({ kind: 'rate_limited', retryAfterMs: 12_000, status: 429 });
    expect(fake.sent).toEqual([]);
  });

  it('turns a blocked bot into a permanent failure with Telegram\'s description', async () => {
    const { fake, channel } = await setup();
    fake.failNext('sendMessage', 1, { error_code: 403, description: 'Forbidden: bot was blocked by the user' });
    const err = await failure(channel.send(to, reply('hello')));
    expect(err).toMatchObject({ kind: 'permanent', status: 403, detail: 'Forbidden: bot was blocked by the user' });
  });

  it('on a retry after the text went out, sends only the file', async () => {
    const { fake, channel } = await setup();
    const files = [{ name: 'act.pdf', mime: 'application/pdf', data: Buffer.from('%PDF') }];
    const text = 'Акт сверки во вложении.';
    fake.failNext('sendDocument', 1, { error_code: 429, description: 'Too Many Requests: retry after 3', retry_after: 3 });
    const err = await failure(channel.send(to, reply(text, { replyId: 'c-78', files })));
    expect(err).toMatchObject({ kind: 'rate_limited', retryAfterMs: 3000 });
    await channel.send(to, reply(text, { replyId: 'c-78', files }));
    expect(fake.sent.map((s) => s.method)).toEqual(['sendMessage', 'sendDocument']);
  });

  it('reports an unreachable Telegram as retry without the token in the error', async () => {
    fake = await startFakeTelegram({ token: TOKEN });
    const apiRoot = fake.apiRoot;
    await fake.close();
    fake = undefined;
    const rec = channelContext({ channelId: 'tg' });
    const channel = createTelegramChannel(TelegramOptions.parse({ token: TOKEN, secretToken: SECRET, apiRoot }), rec.ctx, NO_PACE);
    const err = await failure(channel.send(to, reply('hello')));
    expect(err).toMatchObject({ kind: 'retry', ambiguous: true });
    expect(JSON.stringify({ m: err.message, d: err.detail, s: err.stack })).not.toContain(TOKEN.split(':')[1]);
  });
});

describe('telegram fetchAttachment', () => {
  it('downloads the bytes and keeps the name and MIME of the message', async () => {
    const { fake, channel } = await setup();
    const bytes = Buffer.from('voice-bytes-ogg');
    fake.addFile('file-abc', bytes, 'voice/file_7.oga');
    const file = await channel.fetchAttachment({ name: 'voice-Uabc.ogg', mime: 'audio/ogg', source: 'file-abc' });
    expect(file).toEqual({ name: 'voice-Uabc.ogg', mime: 'audio/ogg', data: bytes });
    expect(fake.calls.find((c) => c.method === 'getFile')?.params).toEqual({ file_id: 'file-abc' });
  });

  it('refuses a file above maxFileBytes with a permanent error naming the limit', async () => {
    const { fake, channel } = await setup({ maxFileBytes: 1024 });
    fake.addFile('big', Buffer.alloc(4096), 'documents/big.bin');
    const err = await failure(channel.fetchAttachment({ name: 'big.bin', mime: 'application/octet-stream', source: 'big' }));
    expect(err.kind).toBe('permanent');
    expect(err.message).toContain('big.bin');
    expect(err.message).toContain('download limit (maxFileBytes) of 1 KB');
  });

  it('refuses a file flagged unavailable at receive time without calling Telegram', async () => {
    const { fake, channel } = await setup();
    const err = await failure(channel.fetchAttachment({
      name: 'movie.mp4', mime: 'video/mp4', source: 'x', size: 30 * MB,
      unavailable: 'larger than the Bot API download limit of 20 MB',
    }));
    expect(err).toMatchObject({ kind: 'permanent', message: '"movie.mp4" cannot be fetched from Telegram: larger than the Bot API download limit of 20 MB' });
    expect(fake.calls).toEqual([]);
  });

  it('passes Telegram\'s own error for an unknown file id', async () => {
    const { channel } = await setup();
    const err = await failure(channel.fetchAttachment({ name: 'x.jpg', mime: 'image/jpeg', source: 'nope' }));
    expect(err).toMatchObject({ kind: 'permanent', detail: 'Bad Request: invalid file_id' });
  });
});

describe('telegram webhook registration and check', () => {
  it('registers the webhook URL with the secret token and the update types', async () => {
    const { fake, options } = await setup();
    const summary = await setWebhook(options, { publicUrl: 'https://support.example.com/', channelId: 'tg' });
    expect(fake.webhook).toEqual({
      url: 'https://support.example.com/webhooks/tg',
      secret_token: SECRET,
      allowed_updates: ['message', 'edited_message', 'callback_query'],
    });
    expect(summary).toContain('https://support.example.com/webhooks/tg');
    expect(summary).not.toContain(SECRET);
    expect(summary).not.toContain(TOKEN);
    expect(formatWebhookInfo(await webhookInfo(options))).toContain('url: https://support.example.com/webhooks/tg');
  });

  it('removes the webhook, dropping pending updates when asked', async () => {
    const { fake, options } = await setup();
    fake.webhook = { url: 'https://old.example.com/hook' };
    const summary = await setWebhook(options, { publicUrl: 'https://x', channelId: 'tg', remove: true, drop: true });
    expect(fake.webhook).toBeUndefined();
    expect(fake.calls.at(-1)).toEqual({ method: 'deleteWebhook', params: { drop_pending_updates: true } });
    expect(summary).toMatch(/webhook removed; pending updates dropped/);
  });

  it('in webhook mode, start() warns when Telegram posts somewhere else, and changes nothing', async () => {
    fake = await startFakeTelegram({ token: TOKEN });
    fake.webhook = { url: 'https://old.example.com/hook' };
    const rec = channelContext({ channelId: 'tg' });
    rec.ctx.publicUrl = 'https://support.example.com';
    const options = TelegramOptions.parse({ token: TOKEN, secretToken: SECRET, apiRoot: fake.apiRoot });
    await createTelegramChannel(options, rec.ctx, NO_PACE).start?.();
    const warning = await waitFor('the warning about the other webhook', () => rec.logs.find((l) => l.level === 'warn'));
    expect(warning.msg).toContain('switchboard telegram set-webhook');
    expect(warning.obj).toEqual({ expected: 'https://support.example.com/webhooks/tg', registered: 'https://old.example.com/hook' });
    expect(fake.webhook).toEqual({ url: 'https://old.example.com/hook' });
  });

  it('check() names the bot, and a wrong token fails clearly', async () => {
    const { channel } = await setup();
    expect(await channel.check?.()).toBe('bot @fake_support_bot');
    const rec = channelContext();
    const wrong = createTelegramChannel(
      TelegramOptions.parse({ token: '999:wrongwrongwrong', secretToken: SECRET, apiRoot: fake!.apiRoot }),
      rec.ctx,
      NO_PACE,
    );
    const err = await failure(wrong.check!());
    expect(err.message).toMatch(/bot token was rejected \(401\)/);
    expect(err.message).not.toContain('wrongwrongwrong');
  });
});
