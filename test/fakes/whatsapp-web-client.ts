import { EventEmitter } from 'node:events';
import type { WebChat, WebClient, WebClientOptions, WebContact, WebLibrary, WebMedia, WebMessage } from '../../connectors/channels/whatsapp-web/library.ts';

/**
 * A fake WhatsApp account behind fake whatsapp-web.js clients, with the library's event names
 * (`qr`, `authenticated`, `ready`, `message`, `disconnected`, `auth_failure`, `change_state`) and
 * method names (`initialize`, `destroy`, `getChats`, `sendMessage`, `chat.fetchMessages`,
 * `msg.downloadMedia`, `msg.getContact`). The account (chats, link state) outlives clients, as
 * the phone does; like the real library, a client that is not connected emits no `message` for
 * what arrives meanwhile, and a reconnected one emits none for it either: it is only in the chats.
 */

export interface FakeSent {
  chatId: string;
  text?: string;
  media?: FakeMessageMedia;
  options?: { sendMediaAsDocument?: boolean };
  id: string;
}

export interface FakeMessageMedia {
  mimetype: string;
  data: string;
  filename: string;
}

export interface IncomingOptions {
  name?: string;
  type?: string;
  fromMe?: boolean;
  /** `undefined` makes `downloadMedia()` resolve to undefined, as the library does for expired media. */
  media?: WebMedia | undefined;
  /** Unix seconds; default: now. */
  timestamp?: number;
  isStatus?: boolean;
}

class FakeClient extends EventEmitter implements WebClient {
  connected = false;
  destroyed = false;
  readonly options: WebClientOptions;
  private readonly world: FakeWhatsApp;

  constructor(world: FakeWhatsApp, options: WebClientOptions) {
    super();
    this.world = world;
    this.options = options;
  }

  async initialize(): Promise<void> {
    const failure = this.world.initFailures.shift();
    if (failure) throw failure;
    setImmediate(() => {
      if (this.destroyed) return;
      if (!this.world.linked) {
        this.emit('qr', `2@fake-qr-${this.world.clients.length}`);
        return;
      }
      this.connect();
    });
  }

  connect(): void {
    this.emit('authenticated');
    this.connected = true;
    this.emit('ready');
  }

  async destroy(): Promise<void> {
    this.destroyed = true;
    this.connected = false;
  }

  async getChats(): Promise<WebChat[]> {
    this.assertConnected('getChats');
    return [...this.world.chats.entries()].map(([id, messages]) => ({
      id: { _serialized: id },
      isGroup: id.endsWith('@g.us'),
      unreadCount: this.world.unread.get(id) ?? 0,
      timestamp: messages.at(-1)?.timestamp,
      fetchMessages: async ({ limit }: { limit: number }) => {
        this.world.fetches.push({ chatId: id, limit });
        return messages.slice(-limit);
      },
    }));
  }

  async sendMessage(chatId: string, content: string | object, options?: { sendMediaAsDocument?: boolean }): Promise<{ id: { _serialized: string } }> {
    this.assertConnected('sendMessage');
    const failure = this.world.sendFailures;
    if (failure && failure.skip > 0) failure.skip -= 1;
    else if (failure && failure.left > 0) {
      failure.left -= 1;
      throw new Error('Evaluation failed: Error: Message was not sent (the phone is offline)');
    }
    const id = `true_${chatId}_OUT${String(this.world.sent.length + 1).padStart(6, '0')}`;
    this.world.sent.push(typeof content === 'string' ? { chatId, text: content, id } : { chatId, media: content as FakeMessageMedia, options, id });
    return { id: { _serialized: id } };
  }

  private assertConnected(what: string): void {
    if (!this.connected || this.destroyed) throw new Error(`${what}: Session closed. Most likely the page has been closed.`);
  }
}

export class FakeWhatsApp {
  linked: boolean;
  readonly chats = new Map<string, WebMessage[]>();
  readonly unread = new Map<string, number>();
  readonly clients: FakeClient[] = [];
  readonly sent: FakeSent[] = [];
  readonly fetches: { chatId: string; limit: number }[] = [];
  /** The next `initialize()` calls reject with these (Chromium missing, a crash). */
  readonly initFailures: Error[] = [];
  /** `sendMessage` fails `left` times after `skip` more succeed. */
  sendFailures: { skip: number; left: number } | undefined;
  private seq = 0;

  constructor(opts: { linked?: boolean } = {}) {
    this.linked = opts.linked ?? true;
  }

  /** What the channel loads instead of whatsapp-web.js. */
  readonly library: WebLibrary = {
    createClient: (options) => {
      const client = new FakeClient(this, options);
      this.clients.push(client);
      return client;
    },
    media: (mimetype, data, filename) => ({ mimetype, data, filename }),
  };

  get client(): FakeClient | undefined {
    return this.clients.at(-1);
  }

  /** A client already connected, for driving catch-up directly. */
  connectedClient(): WebClient {
    const client = new FakeClient(this, {} as WebClientOptions);
    this.clients.push(client);
    client.connected = true;
    return client;
  }

  /** The next `count` sends fail (the phone went offline mid-send) after `after` more succeed. */
  failSends(count: number, opts: { after?: number } = {}): void {
    this.sendFailures = { skip: opts.after ?? 0, left: count };
  }

  /** The library emits a message it emitted before again (a reconnect replaying it). */
  redeliver(message: WebMessage): void {
    const c = this.client;
    if (c?.connected && !c.destroyed) c.emit('message', message);
  }

  /** Forgets what the last test left: chats, sends, fetches, failures; linked again. */
  reset(): void {
    this.linked = true;
    this.chats.clear();
    this.unread.clear();
    this.sent.length = 0;
    this.fetches.length = 0;
    this.initFailures.length = 0;
    this.sendFailures = undefined;
  }

  /** Someone read every chat on the phone: nothing is unread any more. */
  markAllRead(): void {
    this.unread.clear();
  }

  /** The admin scanned the QR code on the phone. */
  scan(): void {
    this.linked = true;
    const c = this.client;
    if (c && !c.destroyed) c.connect();
  }

  /** The connection drops: the client says so, as the library does. */
  disconnect(reason = 'NAVIGATION'): void {
    const c = this.client;
    if (!c) return;
    c.connected = false;
    c.emit('disconnected', reason);
  }

  /** A customer writes. Emitted as `message` only when a client is connected. */
  incoming(from: string, body: string, opts: IncomingOptions = {}): WebMessage {
    this.seq += 1;
    const fromMe = opts.fromMe ?? false;
    const serial = `3EB0${String(this.seq).padStart(16, '0')}`;
    const chatId = from;
    const hasMedia = 'media' in opts;
    const media = opts.media;
    const contact: WebContact = { pushname: opts.name, number: from.endsWith('@c.us') ? from.slice(0, -5) : undefined };
    const message: WebMessage = {
      id: { fromMe, remote: chatId, id: serial, _serialized: `${fromMe}_${chatId}_${serial}` },
      from: fromMe ? 'me@c.us' : from,
      to: fromMe ? from : 'me@c.us',
      body,
      type: opts.type ?? (hasMedia ? 'image' : 'chat'),
      timestamp: opts.timestamp ?? Math.floor(Date.now() / 1000),
      hasMedia,
      fromMe,
      isStatus: opts.isStatus ?? from === 'status@broadcast',
      broadcast: from === 'status@broadcast',
      _data: { notifyName: opts.name },
      downloadMedia: async () => media,
      getContact: async () => contact,
    };
    const history = this.chats.get(chatId) ?? [];
    history.push(message);
    this.chats.set(chatId, history);
    if (!fromMe) this.unread.set(chatId, (this.unread.get(chatId) ?? 0) + 1);
    const c = this.client;
    if (c?.connected && !c.destroyed && !fromMe) c.emit('message', message);
    return message;
  }
}

/**
 * A stand-in for the WhatsApp Web page, for the smoke test of the real library in real Chromium:
 * whatsapp-web.js serves a cached page for `https://web.whatsapp.com/` from its local web-version
 * cache (`<cacheDir>/<webVersion>.html`), so nothing leaves the machine. The page provides only
 * what the library reads before it emits `qr`: `Debug.VERSION` and the modules its `inject()`
 * asks `window.require` for, with an unpaired socket and a connection ref.
 */
export const FAKE_WHATSAPP_WEB_PAGE = `<!doctype html><html><head><title>WhatsApp (fake)</title></head><body><script>
(function () {
  function emitter(o) {
    var handlers = {};
    o.on = function (e, f) { (handlers[e] = handlers[e] || []).push(f); return o; };
    o.off = function (e, f) { handlers[e] = (handlers[e] || []).filter(function (g) { return g !== f; }); return o; };
    return o;
  }
  var b64 = function (bytes) { return btoa(String.fromCharCode.apply(null, bytes)); };
  var modules = {
    WAWebSocketModel: { Socket: emitter({ state: 'UNPAIRED' }) },
    WAWebCmd: { Cmd: emitter({ refreshQR: function () {} }) },
    WAWebConnModel: { Conn: emitter({ ref: '2@smoke-test-ref' }) },
    WAWebOfflineHandler: { OfflineMessageHandler: { getOfflineDeliveryProgress: function () { return 0; } } },
    WAWebAltDeviceLinkingApi: {},
    WABase64: { encodeB64: b64 },
    WAWebCompanionRegClientUtils: { DEVICE_PLATFORM: 'Chrome' },
    WAWebAdvSignatureApi: {},
    WAWebUserPrefsInfoStore: { waNoiseInfo: { get: async function () { return { staticKeyPair: { pubKey: new Uint8Array([1, 2, 3, 4]) } }; } } },
    WAWebSignalStoreApi: { waSignalStore: { getRegistrationInfo: async function () { return { identityKeyPair: { pubKey: new Uint8Array([5, 6, 7, 8]) } }; } } },
    WAWebUserPrefsMultiDevice: { getADVSecretKey: function () { return 'c21va2U='; } }
  };
  window.require = function (name) {
    if (!(name in modules)) throw new Error('the fake WhatsApp Web page has no module ' + name);
    return modules[name];
  };
  window.Debug = { VERSION: '2.3000.1' };
})();
</script></body></html>`;
