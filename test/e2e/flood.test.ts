import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeTelegram, tgUpdate, type FakeTelegram } from '../fakes/telegram-server.ts';
import { startFakeZendesk, type FakeZendesk } from '../fakes/zendesk-server.ts';
import { GatewayProcess, tempDir, waitFor } from './harness.ts';

/**
 * The per-sender flood limit through the real gateway process: a Telegram sender over the
 * limit gets every message delivered and the agents get one private note saying so; another
 * customer is not touched.
 */

const TG_TOKEN = '123456:FLOOD-token-abcdefghijklmnopqrstu';
const TG_SECRET = 'tg-flood-secret_0123456789';
const ZD_TOKEN = 'zd-flood-token-0123456789';

describe('per-sender flood limit (real gateway process)', () => {
  let tg: FakeTelegram;
  let zd: FakeZendesk;
  let dir: { path: string; remove(): Promise<void> };
  let gw: GatewayProcess;

  beforeAll(async () => {
    tg = await startFakeTelegram({ token: TG_TOKEN });
    zd = await startFakeZendesk({ email: 'agent@example.com', apiToken: ZD_TOKEN });
    dir = await tempDir();
    gw = await GatewayProcess.create(dir.path, `
server: { port: 8080, host: 127.0.0.1 }
store: { kind: embedded, path: "${dir.path}/data" }
log: { level: warn }
delivery: { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 1000, floodLimit: { messages: 3, perSeconds: 3600 } }
helpdesk:
  kind: zendesk
  baseUrl: ${zd.url}
  email: agent@example.com
  apiToken: ${ZD_TOKEN}
  webhookSecret: zendesk-flood-secret-0123456789
channels:
  telegram:
    kind: telegram
    token: "${TG_TOKEN}"
    mode: webhook
    secretToken: ${TG_SECRET}
    apiRoot: ${tg.apiRoot}
`);
    await gw.start();
  });
  afterAll(async () => {
    await gw?.stop();
    await tg?.close();
    await zd?.close();
    await dir?.remove();
  });

  it('delivers every message of a sender over the limit and tells the agents once', async () => {
    const send = (chat: number, text: string, updateId: number) =>
      gw.post('/webhooks/telegram', tgUpdate.text(chat, text, { updateId, messageId: updateId }), { 'x-telegram-bot-api-secret-token': TG_SECRET });
    for (let i = 1; i <= 7; i++) expect((await send(888001, `spam ${i}`, i)).status).toBe(200);
    expect((await send(888002, 'hello, where is my deposit?', 100)).status).toBe(200);

    const spammer = await waitFor('all seven messages', () => {
      const comments = zd.tickets.flatMap((t) => t.comments);
      return comments.filter((c) => c.public && c.body.startsWith('spam ')).length === 7 ? zd.tickets.find((t) => t.comments.some((c) => c.body === 'spam 1')) : undefined;
    });
    const notes = spammer!.comments.filter((c) => !c.public && c.body.includes('flood limit'));
    expect(notes).toHaveLength(1);
    // Nothing dropped, nothing twice, order kept within the conversation.
    expect(spammer!.comments.filter((c) => c.public).map((c) => c.body)).toEqual([1, 2, 3, 4, 5, 6, 7].map((i) => `spam ${i}`));
    const other = await waitFor('the other customer', () => zd.tickets.find((t) => t.comments.some((c) => c.body.startsWith('hello, where'))));
    expect(other.comments.some((c) => c.body.includes('flood limit'))).toBe(false);
  });
});
