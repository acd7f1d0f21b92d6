/**
 * The part of whatsapp-web.js the channel uses, as types of our own: the library is loaded only
 * when a whatsapp-web channel starts (it pulls in Puppeteer), and tests drive the channel
 * through a fake with the same event and method names.
 */

export interface WebMessageId {
  _serialized: string;
  fromMe: boolean;
  remote: string;
  id: string;
}

export interface WebMedia {
  mimetype: string;
  /** Base64. */
  data: string;
  filename?: string | null;
  filesize?: number | null;
}

export interface WebContact {
  number?: string;
  pushname?: string;
  name?: string;
}

export interface WebMessage {
  id: WebMessageId;
  from: string;
  to: string;
  /** The sender inside a group. */
  author?: string;
  body: string;
  type: string;
  /** Unix seconds. */
  timestamp: number;
  hasMedia: boolean;
  fromMe: boolean;
  isStatus?: boolean;
  broadcast?: boolean;
  hasQuotedMsg?: boolean;
  location?: { latitude: number | string; longitude: number | string; name?: string; address?: string; description?: string };
  vCards?: string[];
  /** The library's raw model; `notifyName` is the sender's profile name. */
  _data?: { notifyName?: string };
  downloadMedia(): Promise<WebMedia | undefined | null>;
  getContact?(): Promise<WebContact>;
}

export interface WebChat {
  id: { _serialized: string };
  isGroup: boolean;
  unreadCount: number;
  /** Last activity, unix seconds. */
  timestamp?: number;
  fetchMessages(opts: { limit: number }): Promise<WebMessage[]>;
}

export interface WebClient {
  on(event: 'qr', listener: (qr: string) => void): unknown;
  on(event: 'authenticated' | 'ready', listener: () => void): unknown;
  on(event: 'auth_failure' | 'disconnected' | 'change_state', listener: (reason: string) => void): unknown;
  on(event: 'message', listener: (message: WebMessage) => void): unknown;
  removeAllListeners(): unknown;
  initialize(): Promise<void>;
  destroy(): Promise<void>;
  getChats(): Promise<WebChat[]>;
  sendMessage(chatId: string, content: string | object, options?: { sendMediaAsDocument?: boolean; caption?: string }): Promise<{ id: { _serialized: string } }>;
}

export interface WebClientOptions {
  clientId: string;
  /** LocalAuth's dataPath: the session lives in `<sessionDir>/session-<clientId>`. */
  sessionDir: string;
  /** Where the library caches WhatsApp Web's page (it would use ./.wwebjs_cache otherwise). */
  cacheDir: string;
  executablePath: string;
  headless: boolean;
  args: string[];
  webVersion?: string;
}

export interface WebLibrary {
  createClient(opts: WebClientOptions): WebClient;
  /** A `MessageMedia` to send. */
  media(mimetype: string, base64: string, filename: string): object;
}

interface WwebjsModule {
  Client: new (options: object) => WebClient;
  LocalAuth: new (options: object) => object;
  MessageMedia: new (mimetype: string, data: string, filename?: string | null) => object;
}

/** Imports whatsapp-web.js (and so Puppeteer) on first use only. */
export async function loadWhatsAppWebJs(): Promise<WebLibrary> {
  const mod = (await import('whatsapp-web.js')) as unknown as { default: WwebjsModule };
  const lib = mod.default;
  return {
    createClient(o) {
      return new lib.Client({
        authStrategy: new lib.LocalAuth({ clientId: o.clientId, dataPath: o.sessionDir }),
        puppeteer: { executablePath: o.executablePath, headless: o.headless, args: o.args },
        webVersionCache: { type: 'local', path: o.cacheDir },
        ...(o.webVersion ? { webVersion: o.webVersion } : {}),
      });
    },
    media: (mimetype, base64, filename) => new lib.MessageMedia(mimetype, base64, filename),
  };
}
