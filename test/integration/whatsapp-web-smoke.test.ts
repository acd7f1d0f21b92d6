import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createWhatsAppWebChannel } from '../../connectors/channels/whatsapp-web/channel.ts';
import { loadWhatsAppWebJs } from '../../connectors/channels/whatsapp-web/library.ts';
import { WhatsAppWebOptions } from '../../connectors/channels/whatsapp-web/options.ts';
import { FAKE_WHATSAPP_WEB_PAGE } from '../fakes/whatsapp-web-client.ts';
import { tempDir, waitFor } from '../e2e/harness.ts';
import { channelContext } from '../fixtures/channel-context.ts';

/**
 * The real whatsapp-web.js in the system's Chromium, started far enough to emit a QR code.
 * WhatsApp Web itself is replaced by a page served from the library's own web-version cache,
 * and Chromium resolves no host name at all, so nothing leaves the machine.
 * Skipped when Chromium is not installed (`apt-get install -y chromium`), also in CI.
 */

const CHROMIUM = '/usr/bin/chromium';
const WEB_VERSION = '2.3000.1';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.error(`\n*** whatsapp-web smoke test SKIPPED: no Chromium at ${CHROMIUM} (apt-get install -y chromium) ***\n`);


describe.skipIf(!haveChromium)('whatsapp-web.js in real Chromium (smoke)', () => {
  const dirs: { remove(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const d of dirs) await d.remove();
  });

  it('starts the library from the system Chromium, keeps the session under the store path and serves the QR code as a PNG', async () => {
    const dir = await tempDir('switchboard-wweb-smoke-');
    dirs.push(dir);
    const sessionPath = join(dir.path, 'session');
    await mkdir(join(sessionPath, 'web-cache'), { recursive: true });
    await writeFile(join(sessionPath, 'web-cache', `${WEB_VERSION}.html`), FAKE_WHATSAPP_WEB_PAGE);
    const options = WhatsAppWebOptions.parse({
      executablePath: CHROMIUM,
      sessionPath,
      webVersion: WEB_VERSION,
      chromiumArgs: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--host-resolver-rules=MAP * ~NOTFOUND'],
    });
    const { ctx } = channelContext({ channelId: 'smoke', dataDir: dir.path });
    const channel = createWhatsAppWebChannel(options, ctx, { loadLibrary: loadWhatsAppWebJs });
    try {
      await channel.start!();
      const status = await waitFor('the QR code from the real library', () => {
        const s = channel.status!();
        if (s.detail?.startsWith('failed')) throw new Error(s.detail);
        return s.detail?.startsWith('qr:') ? s : undefined;
      }, 45_000);
      expect(status.ready).toBe(false);
      const png = await channel.routes![0]!.handler({ method: 'GET', url: '', headers: {}, query: {}, rawBody: Buffer.alloc(0), body: undefined, files: [], ip: '' });
      expect(png.status).toBe(200);
      expect((png.body as Buffer).subarray(0, 4).toString('latin1')).toBe('\x89PNG');
      expect(await readdir(sessionPath)).toContain('session-smoke');
    } finally {
      await channel.stop!();
    }
  }, 60_000);
});
