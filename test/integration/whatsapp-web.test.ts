import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defineChannel } from '../../src/core/connector.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import type { ConnectorRegistry } from '../../src/config/schema.ts';
import { createWhatsAppWebChannel } from '../../connectors/channels/whatsapp-web/channel.ts';
import { WhatsAppWebOptions } from '../../connectors/channels/whatsapp-web/options.ts';
import { definition as zendesk } from '../../connectors/helpdesks/zendesk/index.ts';
import { FakeWhatsApp } from '../fakes/whatsapp-web-client.ts';
import { startFakeZendesk, type FakeTicket, type FakeZendesk } from '../fakes/zendesk-server.ts';
import { settled, tempDir, waitFor } from '../e2e/harness.ts';
import { metric } from '../fixtures/metrics.ts';

/**
 * The whatsapp-web channel inside a real gateway (embedded store, pipeline, HTTP app) against a
 * fake Zendesk, with a fake whatsapp-web.js client in place of Chromium.
 */

const ZD_TOKEN = 'zd-api-token-0123456789';
const ZD_SECRET = 'zendesk-signing-secret-0123456789';
const ADMIN = 'admin-token-0123456789abcdef';
let customers = 0;
/** A chat id no other test uses (the fake Zendesk outlives the tests). */
const customer = () => `99890123${String(++customers).padStart(4, '0')}@c.us`;

function configYaml(dataDir: string, zendeskUrl: string): string {
  return `
server: { port: 0, host: 127.0.0.1, adminToken: ${ADMIN} }
store: { kind: embedded, path: ${dataDir} }
log: { level: error }
delivery: { maxAttempts: 50, baseDelayMs: 50, maxDelayMs: 300, concurrency: 4 }
helpdesk:
  kind: zendesk
  baseUrl: ${zendeskUrl}
  email: agent@example.com
  apiToken: ${ZD_TOKEN}
  webhookSecret: ${ZD_SECRET}
channels:
  wa:
    kind: whatsapp-web
    reconnect: { initialMs: 50, maxMs: 200 }
`;
}

describe('whatsapp-web channel in a gateway (fake client)', () => {
  let zd: FakeZendesk;
  let dir: { path: string; remove(): Promise<void> };
  let world: FakeWhatsApp;
  let gw: Gateway | undefined;
  let configFile: string;

  const registry = (): ConnectorRegistry => ({
    channels: [defineChannel({
      kind: 'whatsapp-web',
      medium: 'messenger',
      network: 'whatsapp',
      sends: ['text', 'files'],
      options: WhatsAppWebOptions,
      create: (o, ctx) => createWhatsAppWebChannel(o, ctx, { loadLibrary: async () => world.library, retryCatchUpMs: 50 }),
    })],
    helpdesks: [zendesk],
    notifiers: [],
  });
  const start = async () => {
    gw = await startGateway({ configFile, registry: registry(), env: {} });
    return gw;
  };
  const ticketOf = (chatId: string): FakeTicket | undefined => {
    const user = zd.users.find((u) => u.external_id === `wa:${chatId}`);
    return user ? zd.tickets.find((t) => t.requester_id === user.id) : undefined;
  };
  const publicBodies = (t: FakeTicket | undefined) => t?.comments.filter((c) => c.public).map((c) => c.body) ?? [];
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${gw!.address}${path}`, { headers });

  beforeAll(async () => {
    zd = await startFakeZendesk({ email: 'agent@example.com', apiToken: ZD_TOKEN });
  });
  afterAll(async () => {
    await zd?.close();
  });
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
    await dir.remove();
  });
  const fresh = async (linked: boolean) => {
    dir = await tempDir('switchboard-wweb-');
    configFile = join(dir.path, 'switchboard.yaml');
    await writeFile(configFile, configYaml(join(dir.path, 'data'), zd.url));
    world = new FakeWhatsApp({ linked });
  };

  it('shows the QR code to admins until linked, and says so in /readyz and /metrics', async () => {
    await fresh(false);
    await start();
    const readyz = async () => {
      const res = await get('/readyz');
      return { status: res.status, channel: ((await res.json()) as { checks: Record<string, { ready: boolean; detail: string }> }).checks['channel:wa']! };
    };
    const waiting = await waitFor('the QR code', async () => {
      const r = await readyz();
      return r.channel.detail.startsWith('qr:') ? r : undefined;
    });
    expect(waiting.status).toBe(503);
    expect(waiting.channel).toMatchObject({ ready: false, detail: expect.stringContaining('/admin/channels/wa/qr') });
    expect(await (await get('/metrics')).text()).toMatch(/switchboard_channel_ready\{channel="wa"\} 0/);

    expect((await get('/admin/channels/wa/qr')).status).toBe(401);
    const png = await get('/admin/channels/wa/qr', { authorization: `Bearer ${ADMIN}` });
    expect(png.status).toBe(200);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await png.arrayBuffer()).subarray(0, 4).toString('latin1')).toBe('\x89PNG');
    expect((await get('/webhooks/wa/qr')).status).toBe(404);

    world.scan();
    await waitFor('ready', async () => (await get('/readyz')).status === 200);
    expect(await (await get('/metrics')).text()).toMatch(/switchboard_channel_ready\{channel="wa"\} 1/);
    expect((await get('/admin/channels/wa/qr', { authorization: `Bearer ${ADMIN}` })).status).toBe(409);
    // The session lives under the store path, never in the working directory.
    expect(world.client!.options.sessionDir).toBe(join(dir.path, 'data', 'whatsapp-web', 'wa'));
    expect(world.client!.options.executablePath).toBe('/usr/bin/chromium');
  });

  it('messages that arrive while the client is offline are read back on reconnect: none lost, none duplicated', async () => {
    const [ALICE, BOBUR] = [customer(), customer()];
    await fresh(true);
    await start();
    await waitFor('ready', () => world.client?.connected);
    world.incoming(ALICE, 'Вывод не пришёл', { name: 'Alice' });
    world.incoming(ALICE, 'this is me answering from the phone', { fromMe: true });
    world.incoming('status@broadcast', 'my holiday photos', { isStatus: true });
    await waitFor('the first comment', () => publicBodies(ticketOf(ALICE)).length === 1);

    world.disconnect('NAVIGATION');
    const before = world.clients.length;
    // Offline: these reach the phone, and no client emits them.
    world.incoming(ALICE, 'ID 5512345', { name: 'Alice' });
    world.incoming(BOBUR, 'bonus not credited', { name: 'Bobur' });
    world.incoming(ALICE, 'карта Humo', { name: 'Alice' });
    world.markAllRead(); // read on the phone meanwhile: "unread" cannot be what finds them
    await waitFor('the reconnect', () => world.clients.length > before && world.client?.connected);
    world.incoming(ALICE, 'спасибо', { name: 'Alice' });

    await waitFor('all of Alice\'s messages', () => publicBodies(ticketOf(ALICE)).length >= 4);
    await waitFor('Bobur\'s ticket', () => ticketOf(BOBUR));
    // The catch-up read back what was stored before the disconnect (its overlap) and dropped it as a
    // redelivery; once that shows and nothing is left to deliver, a duplicate would be on the ticket.
    await waitFor('the catch-up\'s re-read dropped as a redelivery', async () => ((await metric(gw!.address, 'switchboard_duplicates_total', { channel: 'wa' })) ?? 0) >= 1);
    await settled({ url: gw!.address });
    expect(await metric(gw!.address, 'switchboard_accepted_total', { channel: 'wa' })).toBe(5);
    expect(publicBodies(ticketOf(ALICE))).toEqual(['Вывод не пришёл', 'ID 5512345', 'карта Humo', 'спасибо']);
    expect(publicBodies(ticketOf(BOBUR))).toEqual(['bonus not credited']);
    expect(zd.tickets.filter((t) => t.id === ticketOf(ALICE)!.id || t.id === ticketOf(BOBUR)!.id)).toHaveLength(2);
    expect(zd.tickets.some((t) => t.comments.some((c) => /holiday|from the phone/.test(c.body)))).toBe(false);
    const requester = zd.users.find((u) => u.external_id === `wa:${ALICE}`)!;
    expect(requester).toMatchObject({ name: 'Alice', phone: `+${ALICE.slice(0, -5)}` });

    // A restart of the gateway: what arrives while it is down is read back from the stored watermark.
    await gw!.close();
    world.incoming(BOBUR, 'are you there?', { name: 'Bobur' });
    world.markAllRead();
    await start();
    await waitFor('the message from while the gateway was down', () => publicBodies(ticketOf(BOBUR)).length === 2);
    // The catch-up after the restart reads back all five stored messages (they are inside its overlap):
    // when all five are dropped as redeliveries, it is done.
    await waitFor('the five stored messages dropped as redeliveries', async () => (await metric(gw!.address, 'switchboard_duplicates_total', { channel: 'wa' })) === 5);
    await settled({ url: gw!.address });
    expect(await metric(gw!.address, 'switchboard_accepted_total', { channel: 'wa' })).toBe(1);
    expect(publicBodies(ticketOf(BOBUR))).toEqual(['bonus not credited', 'are you there?']);
    expect(publicBodies(ticketOf(ALICE))).toHaveLength(4);
  });

  it('media is attached; media WhatsApp does not hand over is named in a private note', async () => {
    const ALICE = customer();
    await fresh(true);
    await start();
    await waitFor('ready', () => world.client?.connected);
    const photo = Buffer.from('fake jpeg bytes of a receipt');
    world.incoming(ALICE, 'чек', { media: { mimetype: 'image/jpeg', data: photo.toString('base64'), filename: null } });
    const ticket = await waitFor('the ticket', () => ticketOf(ALICE));
    expect(ticket.comments[0]!.body).toBe('чек');
    expect(ticket.comments[0]!.uploads.map((u) => u.data.toString())).toEqual([photo.toString()]);
    world.incoming(ALICE, '', { type: 'document', media: undefined });
    const note = await waitFor('the note', () => ticket.comments.find((c) => !c.public && c.body.includes('downloadMedia() returned nothing')));
    expect(note.body).toMatch(/document-3EB0/);
  });

  it("an agent's reply (text and file) reaches the chat; while the client is down it waits and goes out after the reconnect", async () => {
    const ALICE = customer();
    await fresh(true);
    await start();
    await waitFor('ready', () => world.client?.connected);
    world.incoming(ALICE, 'help', { name: 'Alice' });
    const ticket = await waitFor('the ticket', () => ticketOf(ALICE));
    zd.addAgentComment(ticket.id, 'Пришлите фото паспорта', { attachments: [{ file_name: 'guide.pdf', content_type: 'application/pdf', data: Buffer.from('%PDF guide') }] });
    const body = JSON.stringify({ ticket_id: String(ticket.id) });
    await fetch(`${gw!.address}/helpdesk/events`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...zd.signWebhook(body, ZD_SECRET) } });
    await waitFor('the text', () => world.sent.find((s) => s.text === 'Пришлите фото паспорта'));
    const file = await waitFor('the file', () => world.sent.find((s) => s.media));
    expect(file).toMatchObject({ chatId: ALICE, media: { mimetype: 'application/pdf', filename: 'guide.pdf', data: Buffer.from('%PDF guide').toString('base64') }, options: { sendMediaAsDocument: true } });

    world.initFailures.push(new Error('Failed to launch the browser process'));
    world.disconnect('CONFLICT');
    zd.addAgentComment(ticket.id, 'Ещё вопрос?');
    await fetch(`${gw!.address}/helpdesk/events`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...zd.signWebhook(body, ZD_SECRET) } });
    await waitFor('the reply after the reconnect', () => world.sent.find((s) => s.text === 'Ещё вопрос?'), 10_000);
    expect(world.sent.filter((s) => s.text === 'Пришлите фото паспорта')).toHaveLength(1);
    expect(world.clients.length).toBeGreaterThanOrEqual(3);
  });
});
