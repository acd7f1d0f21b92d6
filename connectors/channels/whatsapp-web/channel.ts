import { access, constants, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChannelContext, ChannelInstance } from '../../../src/core/connector.ts';
import { DeliveryError } from '../../../src/core/errors.ts';
import { Inbox } from './inbox.ts';
import type { WebLibrary } from './library.ts';
import type { WhatsAppWebOptions } from './options.ts';
import { qrForLog, qrRoute } from './qr.ts';
import { sendReply } from './send.ts';
import { WebSession, type SessionState } from './session.ts';

export interface WebChannelDeps {
  /** Loads whatsapp-web.js (or, in tests, a fake with its names). Called when the channel starts. */
  loadLibrary(): Promise<WebLibrary>;
  /** Wait before catching up after a message could not be stored. */
  retryCatchUpMs?: number;
  now?: () => number;
}

/** The session's states in the console's words. */
const CONSOLE_STATE: Record<SessionState, string> = {
  stopped: 'stopped',
  starting: 'connecting',
  qr: 'waiting',
  authenticated: 'connecting',
  ready: 'linked',
  disconnected: 'error',
  failed: 'error',
};

/**
 * An ordinary WhatsApp account linked by QR code, driven through whatsapp-web.js in the
 * system's Chromium. Unofficial: WhatsApp may block numbers that use it (see docs/whatsapp.md).
 */
export function createWhatsAppWebChannel(options: WhatsAppWebOptions, ctx: ChannelContext, deps: WebChannelDeps): ChannelInstance & { idle(): Promise<void> } {
  const log = ctx.log.child({ kind: 'whatsapp-web' });
  const sessionDir = options.sessionPath ?? join(ctx.dataDir, 'whatsapp-web', ctx.channelId);
  let library: Promise<WebLibrary> | undefined;
  const loadLibrary = () => (library ??= deps.loadLibrary().catch((err: unknown) => {
    library = undefined;
    throw err;
  }));

  let catchUpTimer: NodeJS.Timeout | undefined;
  const inbox = new Inbox({
    accept: ctx.accept,
    kv: ctx.kv,
    log,
    blobs: ctx.blobs,
    maxFileBytes: options.maxFileBytes,
    acceptGroups: options.acceptGroups,
    maxPerChat: options.backfill.maxPerChat,
    firstLinkHours: options.backfill.firstLinkHours,
    now: deps.now,
    onStoreFailed() {
      if (catchUpTimer) return;
      catchUpTimer = setTimeout(() => {
        catchUpTimer = undefined;
        if (session.state === 'ready') void inbox.catchUp(session.ready());
      }, deps.retryCatchUpMs ?? 30_000);
      catchUpTimer.unref?.();
    },
  });

  const session = new WebSession(
    {
      async createClient() {
        const lib = await loadLibrary();
        return lib.createClient({
          clientId: ctx.channelId,
          sessionDir,
          cacheDir: join(sessionDir, 'web-cache'),
          executablePath: options.executablePath,
          headless: options.headless,
          args: options.chromiumArgs,
          webVersion: options.webVersion,
        });
      },
      onQr(qr) {
        void qrForLog(qr).then(
          (art) => log.warn({ qr: `\n${art}` }, `whatsapp-web: scan this QR code in WhatsApp → Linked devices (or GET /admin/channels/${ctx.channelId}/qr with the admin token)`),
          () => log.warn({}, `whatsapp-web: a QR code is waiting: GET /admin/channels/${ctx.channelId}/qr with the admin token`),
        );
      },
      onReady(client) {
        void inbox.catchUp(client);
      },
      onMessage(message) {
        void inbox.receive(message);
      },
    },
    options.reconnect,
    log,
  );

  return {
    routes: [qrRoute(session)],
    async start() {
      session.start();
    },
    async stop() {
      clearTimeout(catchUpTimer);
      await session.stop();
      await inbox.idle();
    },
    status() {
      const hint = session.state === 'qr' ? ` (scan it on the console's Linking page, or GET /admin/channels/${ctx.channelId}/qr)` : '';
      return { ready: session.state === 'ready', detail: `${session.state}: ${session.detail}${hint}`, state: CONSOLE_STATE[session.state] };
    },
    send(to, reply) {
      return sendReply({ client: () => session.ready(), library: loadLibrary, kv: ctx.kv }, to, reply);
    },
    async fetchAttachment(ref) {
      const data = ref.source === 'none' ? undefined : await ctx.blobs.get(ref.source);
      if (!data) throw new DeliveryError(`"${ref.name}" is no longer stored (it was downloaded from WhatsApp when it arrived)`, { kind: 'permanent' });
      return { name: ref.name, mime: ref.mime, data };
    },
    async releaseAttachment(ref) {
      if (ref.source !== 'none') await ctx.blobs.delete(ref.source);
    },
    async check() {
      try {
        await access(options.executablePath, constants.X_OK);
      } catch {
        throw new Error(`Chromium is not at ${options.executablePath} (install it: apt-get install chromium, or set executablePath)`);
      }
      const linked = await stat(join(sessionDir, `session-${ctx.channelId}`)).then(() => true, () => false);
      return linked
        ? `Chromium at ${options.executablePath}; a linked session is stored in ${sessionDir}`
        : `Chromium at ${options.executablePath}; not linked yet: start the gateway and scan the QR code`;
    },
    idle: () => inbox.idle(),
  };
}
