import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import type { InboundDraft } from '../../src/core/message.ts';
import { Inbox } from '../../connectors/channels/whatsapp-web/inbox.ts';
import { describeVCard, normalizeMessage } from '../../connectors/channels/whatsapp-web/normalize.ts';
import { WebSession } from '../../connectors/channels/whatsapp-web/session.ts';
import { FakeWhatsApp } from '../fakes/whatsapp-web-client.ts';
import { memoryKv } from '../../src/runtime/memory-kv.ts';
import { memoryBlobs } from '../fixtures/channel-context.ts';
import { silent } from '../fixtures/log.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

const deps = (over: Partial<{ acceptGroups: boolean; maxFileBytes: number }> = {}) => ({ blobs: memoryBlobs(), maxFileBytes: 1000, acceptGroups: false, ...over });

describe('whatsapp-web: which messages become tickets, and how', () => {
  const world = new FakeWhatsApp();
  const draftOf = async (m: Parameters<typeof normalizeMessage>[0], d = deps()) => {
    const r = await normalizeMessage(m, d);
    if ('ignored' in r) throw new Error(`ignored: ${r.ignored}`);
    return r.draft;
  };

  it('ignores own messages, status updates, groups (by default) and system notifications', async () => {
    const reasons = await Promise.all([
      world.incoming('998900000001@c.us', 'from my phone', { fromMe: true }),
      world.incoming('status@broadcast', 'story', { isStatus: true }),
      world.incoming('120363000000000001@g.us', 'group chatter'),
      world.incoming('998900000001@c.us', '', { type: 'e2e_notification' }),
    ].map(async (m) => ((await normalizeMessage(m, deps())) as { ignored?: string }).ignored));
    expect(reasons).toEqual(['own message', 'status or broadcast', 'group chat (acceptGroups is off)', 'not a customer message (e2e_notification)']);
    const group = await draftOf(world.incoming('120363000000000001@g.us', 'group question'), deps({ acceptGroups: true }));
    expect(group.conversation.externalId).toBe('120363000000000001@g.us');
  });

  it('keys a message on its serialized id and takes the profile name and the phone from a c.us id', async () => {
    const m = world.incoming('998900000002@c.us', 'Salom', { name: 'Nodira' });
    const d = await draftOf(m);
    expect(d).toMatchObject({
      externalId: m.id._serialized,
      dedupeKey: m.id._serialized,
      conversation: { externalId: '998900000002@c.us' },
      sender: { externalId: '998900000002@c.us', displayName: 'Nodira', phone: '+998900000002' },
      text: 'Salom',
      occurredAt: new Date(m.timestamp * 1000).toISOString(),
    });
  });

  it('keeps media in the blob store; media WhatsApp does not hand over, or too big, is marked unavailable with the reason', async () => {
    const d = deps();
    const ok = await draftOf(world.incoming('998900000003@c.us', '', { type: 'ptt', media: { mimetype: 'audio/ogg; codecs=opus', data: Buffer.from('OggS').toString('base64') } }), d);
    expect(ok.text).toBe('[voice message]');
    expect(ok.attachments![0]).toMatchObject({ mime: 'audio/ogg; codecs=opus', size: 4 });
    expect(d.blobs.map.get(ok.attachments![0]!.source)!.toString()).toBe('OggS');
    const gone = await draftOf(world.incoming('998900000003@c.us', 'паспорт', { type: 'image', media: undefined }), d);
    expect(gone.text).toBe('паспорт');
    expect(gone.attachments![0]!.unavailable).toMatch(/downloadMedia\(\) returned nothing/);
    const big = await draftOf(world.incoming('998900000003@c.us', '', { type: 'document', media: { mimetype: 'application/pdf', data: Buffer.alloc(2000).toString('base64'), filename: 'big.pdf' } }), d);
    expect(big.attachments![0]).toMatchObject({ name: 'big.pdf', unavailable: expect.stringContaining('maxFileBytes') });
    expect(big.text).toBe('[document: big.pdf]');
  });

  it('writes locations and shared contacts as text', async () => {
    const loc = world.incoming('998900000004@c.us', '', { type: 'location' });
    loc.location = { latitude: '41.3', longitude: '69.2', description: 'Chorsu bazaar' };
    expect((await draftOf(loc)).text).toBe('Location: Chorsu bazaar\n41.3, 69.2 https://maps.google.com/?q=41.3,69.2');
    expect(describeVCard('BEGIN:VCARD\nVERSION:3.0\nFN:Aziz Karimov\nitem1.TEL;waid=998901112233:+998 90 111 22 33\nEND:VCARD')).toBe('Aziz Karimov, +998 90 111 22 33');
  });
});

describe('whatsapp-web: reconnecting', () => {
  it('backs off exponentially while starts fail, resets once ready, and stops for good on stop()', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const world = new FakeWhatsApp();
      world.initFailures.push(new Error('Failed to launch the browser process'), new Error('again'), new Error('and again'));
      const ready = vi.fn();
      const session = new WebSession(
        { createClient: async () => world.library.createClient({} as never), onQr: () => {}, onReady: ready, onMessage: () => {} },
        { initialMs: 1000, maxMs: 3000 },
        silent,
        () => 1, // no jitter
      );
      session.start();
      await vi.advanceTimersByTimeAsync(0);
      expect(session.state).toBe('failed');
      expect(session.detail).toMatch(/Failed to launch.*reconnecting in 1 s/);
      expect(() => session.ready()).toThrow(/not connected/);
      await vi.advanceTimersByTimeAsync(1000);
      expect(world.clients).toHaveLength(2);
      expect(session.detail).toMatch(/reconnecting in 2 s/);
      await vi.advanceTimersByTimeAsync(2000);
      expect(session.detail).toMatch(/reconnecting in 3 s/); // capped at maxMs
      await vi.advanceTimersByTimeAsync(3000);
      await vi.advanceTimersByTimeAsync(0);
      expect(session.state).toBe('ready');
      expect(ready).toHaveBeenCalledTimes(1);

      world.disconnect('LOGOUT');
      expect(session.state).toBe('disconnected');
      expect(session.detail).toMatch(/dropped \(LOGOUT\); reconnecting in 1 s/); // backoff reset by the ready
      expect(world.clients[3]!.destroyed).toBe(true);
      await session.stop();
      await vi.advanceTimersByTimeAsync(10_000);
      expect(world.clients).toHaveLength(4);
      expect(session.state).toBe('stopped');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('whatsapp-web: catching up', () => {
  const NOW = 1_780_000_000_000;
  const setup = (acceptImpl?: (d: InboundDraft[]) => void) => {
    const kv = memoryKv();
    const stored: string[] = [];
    const failed = vi.fn();
    const inbox = new Inbox({
      accept: async (drafts) => {
        acceptImpl?.(drafts);
        const out = drafts.map((d) => ({ id: d.externalId, dedupeKey: d.dedupeKey, duplicate: stored.includes(d.text) }));
        for (const d of drafts) if (!stored.includes(d.text)) stored.push(d.text);
        return out;
      },
      kv,
      log: silent,
      blobs: memoryBlobs(),
      maxFileBytes: 1000,
      acceptGroups: false,
      maxPerChat: 200,
      firstLinkHours: 24,
      onStoreFailed: failed,
      now: () => NOW,
    });
    return { inbox, kv, stored, failed };
  };
  const at = (hoursAgo: number) => Math.floor(NOW / 1000 - hoursAgo * 3600);

  it('on the very first link takes only unread messages of the last day, not the history', async () => {
    const world = new FakeWhatsApp();
    world.incoming('998900000010@c.us', 'last year', { timestamp: at(24 * 365) });
    world.unread.clear();
    world.incoming('998900000010@c.us', 'two days ago, unread', { timestamp: at(48) });
    world.incoming('998900000010@c.us', 'an hour ago, unread', { timestamp: at(1) });
    world.incoming('998900000011@c.us', 'read on the phone', { timestamp: at(2) });
    world.unread.set('998900000011@c.us', 0);
    const client = world.connectedClient();
    const { inbox, stored, kv } = setup();
    await inbox.catchUp(client);
    expect(stored).toEqual(['an hour ago, unread']);
    expect(kv.map.get('watermark')).toBe(String(Math.floor(NOW / 1000)));
  });

  it('a message that could not be stored holds the watermark back, so the next catch-up stores it', async () => {
    const world = new FakeWhatsApp();
    let failNext = true;
    const { inbox, stored, kv, failed } = setup((drafts) => {
      if (failNext && drafts[0]!.text === 'lost?') {
        failNext = false;
        throw new Error('database is locked');
      }
    });
    await kv.set('watermark', String(at(5)));
    const client = world.connectedClient();
    await inbox.receive(world.incoming('998900000012@c.us', 'before', { timestamp: at(3) }));
    await inbox.receive(world.incoming('998900000012@c.us', 'lost?', { timestamp: at(2) }));
    await inbox.receive(world.incoming('998900000013@c.us', 'after, another chat', { timestamp: at(1) }));
    expect(stored).toEqual(['before', 'after, another chat']);
    expect(failed).toHaveBeenCalled();
    expect(Number(kv.map.get('watermark'))).toBeLessThan(at(2));
    await inbox.catchUp(client);
    expect(stored).toEqual(['before', 'after, another chat', 'lost?']);
    expect(kv.map.get('watermark')).toBe(String(at(1)));
  });
});

describe('whatsapp-web is loaded only when configured', () => {
  const loaded = (code: string) => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `${code}
const { createRequire } = await import('node:module');
const cache = Object.keys(createRequire(import.meta.url).cache);
console.log(JSON.stringify(cache.filter((k) => /node_modules\\/(whatsapp-web\\.js|puppeteer)/.test(k)).length));`], { cwd: REPO, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    return Number(r.stdout.trim());
  };

  it('importing the connector registry loads neither whatsapp-web.js nor Puppeteer; starting the library does', () => {
    expect(loaded(`await import('./connectors/registry.ts');`)).toBe(0);
    expect(loaded(`const m = await import('./connectors/channels/whatsapp-web/library.ts'); await m.loadWhatsAppWebJs();`)).toBeGreaterThan(0);
  });
});
