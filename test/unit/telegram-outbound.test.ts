import { GrammyError, HttpError } from 'grammy';
import { describe, expect, it } from 'vitest';
import { redactToken, telegramError } from '../../connectors/channels/telegram/errors.ts';
import { ChatPacer } from '../../connectors/channels/telegram/pace.ts';
import { planReply } from '../../connectors/channels/telegram/send.ts';
import { splitText } from '../../src/kit/outbound/split-text.ts';

const MB = 1024 * 1024;
const file = (name: string, mime: string, bytes: number) => ({ name, mime, data: Buffer.alloc(bytes, 1) });

describe('splitText', () => {
  it('leaves a short text whole', () => {
    expect(splitText('Здравствуйте! Выплата отправлена.')).toEqual(['Здравствуйте! Выплата отправлена.']);
  });

  it('cuts at a paragraph break when there is one', () => {
    const first = 'a'.repeat(3000);
    const second = 'b'.repeat(3000);
    expect(splitText(`${first}\n\n${second}`)).toEqual([first, second]);
  });

  it('cuts at a line break before a space, and at a space before mid-word', () => {
    const lines = `${'x '.repeat(1500)}\n${'y '.repeat(1500)}`;
    const parts = splitText(lines);
    expect(parts[0]).toBe('x '.repeat(1500).trim());
    const words = Array.from({ length: 1000 }, (_, i) => `word${i}`).join(' ');
    for (const part of splitText(words)) {
      expect(part.length).toBeLessThanOrEqual(4096);
      expect(part).toMatch(/^word\d+( word\d+)*$/);
    }
  });

  it('keeps every character and every part within 4096', () => {
    const text = Array.from({ length: 300 }, (_, i) => `Paragraph ${i}: ${'lorem ipsum '.repeat(i % 40)}`).join('\n\n');
    const parts = splitText(text);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(4096);
    expect(parts.join('').replace(/\s/g, '')).toBe(text.replace(/\s/g, ''));
  });

  it('never splits an emoji in two on a hard cut', () => {
    const text = `a${'😀'.repeat(3000)}`; // no spaces: hard cuts only; 😀 is two UTF-16 units
    const parts = splitText(text);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(4096);
      expect(p).not.toMatch(/[\uD800-\uDBFF]$/);
      expect(p).not.toMatch(/^[\uDC00-\uDFFF]/);
    }
    expect(parts.join('')).toBe(text);
  });

  it('sends nothing for blank text', () => {
    expect(splitText('  \n ')).toEqual([]);
  });
});

describe('planReply', () => {
  it('sends the text first, then each file with the method its type and size call for', () => {
    const plan = planReply({ text: 'Ваш чек', files: [file('check.png', 'image/png', 1000), file('act.pdf', 'application/pdf', 1000)] });
    expect(plan.parts.map((p) => [p.method, 'file' in p ? p.file.name : p.text])).toEqual([
      ['sendMessage', 'Ваш чек'],
      ['sendPhoto', 'check.png'],
      ['sendDocument', 'act.pdf'],
    ]);
    expect(plan.notes).toEqual([]);
  });

  it('sends an image over 10 MB as a document, and leaves out a file over 50 MB with a note', () => {
    const plan = planReply({ text: '', files: [file('big.jpg', 'image/jpeg', 11 * MB), file('dump.zip', 'application/zip', 51 * MB)] });
    expect(plan.parts.map((p) => p.method)).toEqual(['sendDocument']);
    expect(plan.notes).toEqual(['"dump.zip" (51 MB) was not sent: Telegram bots can send files up to 50 MB']);
  });
});

describe('ChatPacer', () => {
  function clock() {
    let now = 0;
    const waits: number[] = [];
    return {
      now: () => now,
      sleep: async (ms: number) => {
        waits.push(ms);
        now += ms;
      },
      advance: (ms: number) => void (now += ms),
      waits,
    };
  }

  it('spaces messages to one private chat a second apart, and leaves other chats alone', async () => {
    const c = clock();
    const pacer = new ChatPacer({ privateIntervalMs: 1000, groupIntervalMs: 3000, now: c.now, sleep: c.sleep });
    await pacer.wait('42');
    await pacer.wait('43');
    await pacer.wait('42');
    expect(c.waits).toEqual([1000]);
  });

  it('spaces group messages three seconds apart (20 a minute)', async () => {
    const c = clock();
    const pacer = new ChatPacer({ privateIntervalMs: 1000, groupIntervalMs: 3000, now: c.now, sleep: c.sleep });
    await pacer.wait('-100777');
    c.advance(1000);
    await pacer.wait('-100777');
    expect(c.waits).toEqual([2000]);
  });
});

describe('telegramError', () => {
  const grammy = (error_code: number, description: string, parameters = {}) =>
    new GrammyError('Call failed', { ok: false, error_code, description, parameters }, 'sendMessage', {});

  it('makes 429 rate_limited with the wait Telegram asked for', () => {
    const e = telegramError('send', grammy(429, 'Too Many Requests: retry after 7', { retry_after: 7 }));
    expect(e).toMatchObject({ kind: 'rate_limited', status: 429, retryAfterMs: 7000, detail: 'Too Many Requests: retry after 7' });
  });

  it('makes blocked and chat-not-found permanent with Telegram\'s words', () => {
    expect(telegramError('send', grammy(403, 'Forbidden: bot was blocked by the user')))
      .toMatchObject({ kind: 'permanent', status: 403, detail: 'Forbidden: bot was blocked by the user' });
    expect(telegramError('send', grammy(400, 'Bad Request: chat not found')))
      .toMatchObject({ kind: 'permanent', status: 400, detail: 'Bad Request: chat not found' });
  });

  it('retries 5xx and network failures, flagged ambiguous', () => {
    expect(telegramError('send', grammy(502, 'Bad Gateway'))).toMatchObject({ kind: 'retry', ambiguous: true });
    const token = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';
    const net = new HttpError('Network request failed', new Error(`request to http://127.0.0.1:9/bot${token}/sendMessage failed, reason: ECONNREFUSED`));
    const e = telegramError('send', net, token);
    expect(e).toMatchObject({ kind: 'retry', ambiguous: true });
    expect(e.message).toContain('ECONNREFUSED');
    expect(`${e.message} ${e.detail}`).not.toContain('AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw');
    expect(e.cause).toBeUndefined();
  });

  it('redacts any bot token, named or not', () => {
    expect(redactToken('GET /file/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/x.jpg')).toBe('GET /file/bot<token>/x.jpg');
    expect(redactToken('short 1:abc here', '1:abc')).toBe('short <token> here');
  });
});
