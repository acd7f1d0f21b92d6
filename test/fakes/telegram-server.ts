import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake Telegram Bot API server on 127.0.0.1: answers like the Bot API
 * (`{ok:true,result}` / `{ok:false,error_code,description,parameters}`), records what it was
 * asked, and serves files. Enough of the API for the gateway: getMe, getUpdates (long polling),
 * sendMessage (with inline keyboards), answerCallbackQuery, sendPhoto, sendDocument, getFile (+ /file/bot<token>/<path>), setWebhook,
 * deleteWebhook, getWebhookInfo.
 */

export interface SentFile {
  name: string;
  /** The part's content type as uploaded (grammY sends application/octet-stream). */
  mime: string;
  data: Buffer;
}

export interface SentMessage {
  method: string;
  chat_id: string;
  text?: string;
  caption?: string;
  file?: SentFile;
  /** Inline keyboard buttons, row by row, as sent in reply_markup. */
  buttons?: { text: string; callback_data: string }[][];
  message_id: number;
}

export interface FakeError {
  error_code: number;
  description: string;
  retry_after?: number;
}

export interface FakeTelegram {
  /** http://127.0.0.1:PORT — pass as the channel's `apiRoot`. */
  apiRoot: string;
  sent: SentMessage[];
  /** Callback query ids answered with answerCallbackQuery, in order. */
  answeredCallbacks: string[];
  /** Every authorized method call in order, failed ones included. */
  calls: { method: string; params: Record<string, unknown> }[];
  /** Queues an update for getUpdates; gets an update_id if it has none. */
  pushUpdate(update: object): void;
  /** Updates the bot confirmed (a getUpdates offset past them), so Telegram will not send them again. */
  confirmed: number;
  /** The most getUpdates calls that were open at once (more than 1: two pollers, a 409 on Telegram). */
  maxConcurrentPolls: number;
  addFile(fileId: string, data: Buffer, path?: string): void;
  /** The next `n` calls of `method` fail with `error`; `after` lets that many calls succeed first. */
  failNext(method: string, n: number, error: FakeError, opts?: { after?: number }): void;
  webhook?: { url: string; secret_token?: string; allowed_updates?: string[] };
  /** Forgets what the last test left: sent messages, calls, queued updates, files, failures, the webhook. */
  reset(): void;
  close(): Promise<void>;
}

type Params = Record<string, unknown>;
type Result = { ok: true; result: unknown } | { ok: false; error_code: number; description: string; parameters?: Params };

class ApiFailure extends Error {
  readonly code: number;
  constructor(code: number, description: string) {
    super(description);
    this.code = code;
  }
}

const badRequest = (description: string) => new ApiFailure(400, `Bad Request: ${description}`);

export async function startFakeTelegram(opts: { token: string }): Promise<FakeTelegram> {
  const botId = Number(opts.token.split(':')[0]) || 1;
  const queue: Params[] = [];
  const files = new Map<string, { data: Buffer; path: string; uniqueId: string }>();
  const failures = new Map<string, { skip: number; left: number; error: FakeError }>();
  const waiters = new Set<() => void>();
  let nextUpdateId = 1;
  let nextMessageId = 1;
  let closing = false;
  let openPolls = 0;

  const wakeWaiters = () => {
    for (const wake of [...waiters]) wake();
  };

  const waitForUpdates = (seconds: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, seconds * 1000);
      waiters.add(done);
    });

  const fake: FakeTelegram = {
    apiRoot: '',
    sent: [],
    answeredCallbacks: [],
    maxConcurrentPolls: 0,
    confirmed: 0,
    calls: [],
    pushUpdate(update) {
      const u = { ...(update as Params) };
      if (typeof u.update_id !== 'number') u.update_id = nextUpdateId;
      nextUpdateId = Math.max(nextUpdateId, (u.update_id as number) + 1);
      queue.push(u);
      wakeWaiters();
    },
    addFile(fileId, data, path) {
      files.set(fileId, { data, path: path ?? `documents/${fileId}`, uniqueId: `u-${fileId}` });
    },
    failNext(method, n, error, o) {
      failures.set(method, { skip: o?.after ?? 0, left: n, error });
    },
    webhook: undefined,
    reset() {
      fake.sent.length = 0;
      fake.answeredCallbacks.length = 0;
      fake.calls.length = 0;
      fake.maxConcurrentPolls = 0;
      fake.confirmed = 0;
      fake.webhook = undefined;
      queue.length = 0;
      files.clear();
      failures.clear();
    },
    close: async () => {
      closing = true;
      wakeWaiters();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const methods: Record<string, (p: Params) => Promise<unknown> | unknown> = {
    getMe: () => ({
      id: botId,
      is_bot: true,
      first_name: 'Fake Support Bot',
      username: 'fake_support_bot',
      can_join_groups: true,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
      can_connect_to_business: false,
      has_main_web_app: false,
    }),
    getUpdates: async (p) => {
      if (fake.webhook) {
        throw new ApiFailure(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
      }
      const offset = typeof p.offset === 'number' ? p.offset : Number(p.offset ?? 0);
      // Like Telegram: naming an offset confirms every update before it.
      if (offset > 0) {
        while (queue.length > 0 && (queue[0]!.update_id as number) < offset) {
          queue.shift();
          fake.confirmed += 1;
        }
      }
      const limit = Number(p.limit ?? 100);
      const timeout = Number(p.timeout ?? 0);
      openPolls++;
      fake.maxConcurrentPolls = Math.max(fake.maxConcurrentPolls, openPolls);
      try {
        if (queue.length === 0 && timeout > 0 && !closing) await waitForUpdates(timeout);
      } finally {
        openPolls--;
      }
      return queue.slice(0, limit);
    },
    sendMessage: (p) => {
      const chatId = requireChat(p);
      const text = typeof p.text === 'string' ? p.text : '';
      if (text.trim() === '') throw badRequest('message text is empty');
      if (text.length > 4096) throw badRequest('message is too long');
      const buttons = inlineKeyboard(p.reply_markup);
      return recordSend('sendMessage', chatId, { text, ...(buttons ? { buttons } : {}) });
    },
    answerCallbackQuery: (p) => {
      const id = typeof p.callback_query_id === 'string' ? p.callback_query_id : '';
      if (id === '') throw badRequest('query is too old and response timeout expired or query ID is invalid');
      fake.answeredCallbacks.push(id);
      return true;
    },
    sendPhoto: (p) => sendFile('sendPhoto', 'photo', p),
    sendDocument: (p) => sendFile('sendDocument', 'document', p),
    getFile: (p) => {
      const id = String(p.file_id ?? '');
      const file = files.get(id);
      if (!file) throw badRequest('invalid file_id');
      return { file_id: id, file_unique_id: file.uniqueId, file_size: file.data.length, file_path: file.path };
    },
    setWebhook: (p) => {
      const url = typeof p.url === 'string' ? p.url : '';
      if (url === '') {
        fake.webhook = undefined;
        return true;
      }
      const secret = p.secret_token === undefined ? undefined : String(p.secret_token);
      if (secret !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secret)) {
        throw badRequest('secret token contains unallowed characters');
      }
      fake.webhook = { url, ...(secret ? { secret_token: secret } : {}), ...allowed(p.allowed_updates) };
      if (p.drop_pending_updates === true || p.drop_pending_updates === 'true') queue.length = 0;
      return true;
    },
    deleteWebhook: (p) => {
      fake.webhook = undefined;
      if (p.drop_pending_updates === true || p.drop_pending_updates === 'true') queue.length = 0;
      return true;
    },
    getWebhookInfo: () => ({
      url: fake.webhook?.url ?? '',
      has_custom_certificate: false,
      pending_update_count: queue.length,
      ...(fake.webhook?.allowed_updates ? { allowed_updates: fake.webhook.allowed_updates } : {}),
    }),
  };

  function requireChat(p: Params): string {
    if (p.chat_id === undefined || p.chat_id === '') throw badRequest('chat_id is empty');
    return String(p.chat_id);
  }

  function sendFile(method: string, field: string, p: Params) {
    const chatId = requireChat(p);
    const caption = typeof p.caption === 'string' ? p.caption : undefined;
    if (caption !== undefined && caption.length > 1024) throw badRequest('message caption is too long');
    const value = p[field];
    let file: SentFile;
    if (isSentFile(value)) file = value;
    else if (typeof value === 'string' && files.has(value)) {
      file = { name: value, mime: 'application/octet-stream', data: files.get(value)!.data };
    } else throw badRequest(`there is no ${field} in the request`);
    return recordSend(method, chatId, { ...(caption !== undefined ? { caption } : {}), file });
  }

  function recordSend(method: string, chatId: string, content: Omit<SentMessage, 'method' | 'chat_id' | 'message_id'>) {
    const messageId = nextMessageId++;
    fake.sent.push({ method, chat_id: chatId, ...content, message_id: messageId });
    const numeric = Number(chatId);
    return {
      message_id: messageId,
      date: Math.floor(Date.now() / 1000),
      chat: { id: Number.isFinite(numeric) ? numeric : chatId, type: numeric < 0 ? 'supergroup' : 'private' },
      ...(content.text !== undefined ? { text: content.text } : {}),
      ...(content.caption !== undefined ? { caption: content.caption } : {}),
      ...(method === 'sendPhoto' && content.file
        ? { photo: [{ file_id: `sent-${messageId}`, file_unique_id: `us-${messageId}`, width: 1, height: 1, file_size: content.file.data.length }] }
        : {}),
      ...(method === 'sendDocument' && content.file
        ? { document: { file_id: `sent-${messageId}`, file_unique_id: `us-${messageId}`, file_name: content.file.name, file_size: content.file.data.length } }
        : {}),
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const fileMatch = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (fileMatch) {
      if (fileMatch[1] !== opts.token) return reply(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
      const path = decodeURIComponent(fileMatch[2]!);
      const file = [...files.values()].find((f) => f.path === path);
      if (!file) return reply(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': file.data.length });
      res.end(file.data);
      return;
    }
    const apiMatch = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    if (!apiMatch) return reply(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
    if (apiMatch[1] !== opts.token) return reply(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
    const method = apiMatch[2]!;

    let params: Params;
    try {
      params = { ...Object.fromEntries(url.searchParams), ...(await readParams(req)) };
    } catch (err) {
      return reply(res, 400, { ok: false, error_code: 400, description: `Bad Request: ${(err as Error).message}` });
    }
    fake.calls.push({ method, params });

    const failure = failures.get(method);
    if (failure && failure.skip > 0) failure.skip -= 1;
    else if (failure && failure.left > 0) {
      failure.left -= 1;
      const { error_code, description, retry_after } = failure.error;
      return reply(res, error_code, {
        ok: false,
        error_code,
        description,
        ...(retry_after !== undefined ? { parameters: { retry_after } } : {}),
      });
    }
    const impl = methods[method];
    if (!impl) return reply(res, 404, { ok: false, error_code: 404, description: 'Not Found: method not found' });
    try {
      reply(res, 200, { ok: true, result: await impl(params) });
    } catch (err) {
      if (!(err instanceof ApiFailure)) throw err;
      reply(res, err.code, { ok: false, error_code: err.code, description: err.message });
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) reply(res, 500, { ok: false, error_code: 500, description: `Internal Server Error: ${String(err)}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.apiRoot = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

function reply(res: ServerResponse, status: number, body: Result): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

function allowed(value: unknown): { allowed_updates?: string[] } {
  const list = typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
  return Array.isArray(list) ? { allowed_updates: list.map(String) } : {};
}

/** Checks an inline keyboard as the Bot API does: rows of buttons, callback data of 1–64 bytes. */
function inlineKeyboard(markup: unknown): SentMessage['buttons'] {
  const parsed: unknown = typeof markup === 'string' ? JSON.parse(markup) : markup;
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const rows = (parsed as { inline_keyboard?: unknown }).inline_keyboard;
  if (!Array.isArray(rows)) return undefined;
  return rows.map((row) => {
    if (!Array.isArray(row)) throw badRequest('field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays');
    return row.map((b: { text?: unknown; callback_data?: unknown }) => {
      const data = String(b.callback_data ?? '');
      if (typeof b.text !== 'string' || b.text === '') throw badRequest('text buttons are unallowed in the inline keyboard');
      if (Buffer.byteLength(data) < 1 || Buffer.byteLength(data) > 64) throw badRequest('BUTTON_DATA_INVALID');
      return { text: b.text, callback_data: data };
    });
  });
}

function isSentFile(value: unknown): value is SentFile {
  return typeof value === 'object' && value !== null && Buffer.isBuffer((value as SentFile).data);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** JSON, urlencoded or multipart parameters; multipart `attach://id` values become the uploaded file. */
async function readParams(req: IncomingMessage): Promise<Params> {
  const body = await readBody(req);
  if (body.length === 0) return {};
  const type = req.headers['content-type'] ?? '';
  if (type.startsWith('application/json')) {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('expected a JSON object');
    return parsed as Params;
  }
  if (type.startsWith('application/x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(body.toString('utf8')));
  }
  const boundary = /boundary=("?)([^";]+)\1/.exec(type)?.[2];
  if (type.startsWith('multipart/form-data') && boundary) return parseMultipart(body, boundary);
  throw new Error(`unsupported content-type ${type}`);
}

/**
 * A tolerant multipart parser: grammY writes headers without spaces and the filename
 * unquoted (`filename=my file.pdf`), which stricter parsers (undici's) reject.
 */
export function parseMultipart(body: Buffer, boundary: string): Params {
  const fields: Params = {};
  const uploads = new Map<string, SentFile>();
  const delimiter = Buffer.from(`--${boundary}`);
  let pos = body.indexOf(delimiter);
  while (pos !== -1) {
    let start = pos + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    if (body.subarray(start, start + 2).toString() === '\r\n') start += 2;
    const next = body.indexOf(delimiter, start);
    if (next === -1) break;
    const part = body.subarray(start, next - 2); // drop the CRLF before the delimiter
    const headerEnd = part.indexOf('\r\n\r\n');
    const headers = part.subarray(0, headerEnd === -1 ? 0 : headerEnd).toString('utf8');
    const data = headerEnd === -1 ? part : part.subarray(headerEnd + 4);
    const disposition = headerValue(headers, 'content-disposition');
    const name = /name="([^"]*)"/.exec(disposition)?.[1] ?? /name=([^;]*)/.exec(disposition)?.[1];
    const filename = /filename="([^"]*)"/.exec(disposition)?.[1] ?? /filename=(.*)$/.exec(disposition)?.[1]?.trim();
    if (name !== undefined) {
      if (filename !== undefined) {
        uploads.set(name, { name: filename, mime: headerValue(headers, 'content-type') || 'application/octet-stream', data: Buffer.from(data) });
      } else {
        fields[name] = data.toString('utf8');
      }
    }
    pos = next;
  }
  const attached = new Set<string>();
  for (const [key, value] of Object.entries(fields)) {
    const ref = typeof value === 'string' ? /^attach:\/\/(.+)$/.exec(value)?.[1] : undefined;
    if (ref !== undefined && uploads.has(ref)) {
      fields[key] = uploads.get(ref);
      attached.add(ref);
    }
  }
  for (const [name, file] of uploads) if (!attached.has(name)) fields[name] = file;
  return fields;
}

function headerValue(headers: string, name: string): string {
  for (const line of headers.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon !== -1 && line.slice(0, colon).trim().toLowerCase() === name) return line.slice(colon + 1).trim();
  }
  return '';
}

// ---------------------------------------------------------------- update builder

interface UserLike {
  id?: number;
  first_name?: string;
  last_name?: string;
  username?: string;
  language_code?: string;
  is_bot?: boolean;
}

export interface UpdateOptions {
  updateId?: number;
  messageId?: number;
  /** Unix seconds. */
  date?: number;
  from?: UserLike;
  /** Shorthands for `from` fields. */
  userId?: number;
  firstName?: string;
  lastName?: string;
  username?: string;
  languageCode?: string;
  /** Caption of a media message (same as the file spec's `caption`). */
  caption?: string;
  /** Extra chat fields (type, title) — a negative chat id defaults to a supergroup. */
  chat?: Record<string, unknown>;
  /** Extra message fields merged in last (reply_to_message, media_group_id, …). */
  extra?: Record<string, unknown>;
}

let builderUpdateId = 1000;
let builderMessageId = 1;

function message(chatId: number | string, content: Record<string, unknown>, o: UpdateOptions = {}): Record<string, unknown> {
  const id = Number(chatId);
  const group = id < 0;
  const from = {
    id: o.userId ?? (group ? 777000111 : id),
    is_bot: false,
    first_name: o.firstName ?? 'Aziz',
    last_name: o.lastName ?? 'Karimov',
    username: o.username ?? 'aziz_k',
    language_code: o.languageCode ?? 'ru',
    ...o.from,
  };
  return {
    message_id: o.messageId ?? builderMessageId++,
    date: o.date ?? Math.floor(Date.now() / 1000),
    chat: group
      ? { id, type: 'supergroup', title: 'Support group', ...o.chat }
      : { id, type: 'private', first_name: from.first_name, last_name: from.last_name, username: from.username, ...o.chat },
    from,
    ...content,
    ...o.extra,
  };
}

function wrap(msg: Record<string, unknown>, o: UpdateOptions, key = 'message') {
  return { update_id: o.updateId ?? builderUpdateId++, [key]: msg };
}

export interface FileSpec {
  fileId?: string;
  size?: number;
  mime?: string;
  name?: string;
  duration?: number;
  caption?: string;
}

const fileFields = (kind: string, f: FileSpec) => {
  const fileId = f.fileId ?? `${kind}-${builderMessageId}-${Math.random().toString(36).slice(2, 8)}`;
  return {
    file_id: fileId,
    file_unique_id: `U${fileId}`,
    ...(f.size !== undefined ? { file_size: f.size } : {}),
    ...(f.mime !== undefined ? { mime_type: f.mime } : {}),
    ...(f.name !== undefined ? { file_name: f.name } : {}),
    ...(f.duration !== undefined ? { duration: f.duration } : {}),
  };
};

const caption = (f: FileSpec, o: UpdateOptions) => {
  const text = f.caption ?? o.caption;
  return text !== undefined ? { caption: text } : {};
};

/** Builds Bot API updates for tests: `fake.pushUpdate(tgUpdate.text(42, 'hello'))`. */
export const tgUpdate = {
  text: (chatId: number | string, text: string, o: UpdateOptions = {}) => wrap(message(chatId, { text }, o), o),

  /**
   * A photo as Telegram sends it: several sizes of one picture, smallest first. Given one spec,
   * three sizes are made and `fileId` names the largest; given an array, those are the sizes.
   */
  photo: (chatId: number | string, spec: FileSpec | FileSpec[] = {}, o: UpdateOptions = {}) => {
    const specs = Array.isArray(spec) ? spec : undefined;
    const one = Array.isArray(spec) ? (spec.at(-1) ?? {}) : spec;
    const big = one.fileId ?? `photo-${builderMessageId}`;
    const sizes = specs
      ? specs.map((s, i) => {
        const fileId = s.fileId ?? `${big}-${i}`;
        const side = 90 * 2 ** i;
        return { file_id: fileId, file_unique_id: `U${fileId}`, width: side, height: side, ...(s.size !== undefined ? { file_size: s.size } : {}) };
      })
      : [
        { file_id: `${big}-s`, file_unique_id: `U${big}-s`, width: 90, height: 67, file_size: 1200 },
        { file_id: `${big}-m`, file_unique_id: `U${big}-m`, width: 320, height: 240, file_size: 15000 },
        { file_id: big, file_unique_id: `U${big}`, width: 1280, height: 960, file_size: one.size ?? 180000 },
      ];
    return wrap(message(chatId, { photo: sizes, ...caption(one, o) }, o), o);
  },

  document: (chatId: number | string, f: FileSpec = {}, o: UpdateOptions = {}) =>
    wrap(message(chatId, { document: fileFields('document', f), ...caption(f, o) }, o), o),

  voice: (chatId: number | string, f: FileSpec = {}, o: UpdateOptions = {}) =>
    wrap(message(chatId, { voice: { duration: 5, ...fileFields('voice', f) }, ...caption(f, o) }, o), o),

  video: (chatId: number | string, f: FileSpec = {}, o: UpdateOptions = {}) =>
    wrap(message(chatId, { video: { width: 640, height: 360, duration: 10, ...fileFields('video', f) }, ...caption(f, o) }, o), o),

  /** A shared contact; `ownUserId` set to the sender's id makes it the sender's own number. */
  contact: (chatId: number | string, c: { phone: string; firstName: string; lastName?: string; userId?: number }, o: UpdateOptions = {}) =>
    wrap(message(chatId, {
      contact: {
        phone_number: c.phone,
        first_name: c.firstName,
        ...(c.lastName !== undefined ? { last_name: c.lastName } : {}),
        ...(c.userId !== undefined ? { user_id: c.userId } : {}),
      },
    }, o), o),

  location: (chatId: number | string, latitude: number, longitude: number, o: UpdateOptions = {}) =>
    wrap(message(chatId, { location: { latitude, longitude } }, o), o),

  /** An edited text message; `editDate` defaults to now. */
  edit: (chatId: number | string, messageId: number, text: string, o: UpdateOptions & { editDate?: number } = {}) => {
    const msg = message(chatId, { text, edit_date: o.editDate ?? Math.floor(Date.now() / 1000) }, { ...o, messageId });
    return wrap(msg, o, 'edited_message');
  },

  /** An album: one update per photo, each its own message, sharing a media_group_id. */
  album: (chatId: number | string, photos: FileSpec[], o: UpdateOptions & { groupId?: string } = {}) => {
    const groupId = o.groupId ?? `mg-${builderMessageId}`;
    return photos.map((p, i) =>
      tgUpdate.photo(chatId, { fileId: `${groupId}-${i}`, ...p }, {
        ...o,
        updateId: undefined,
        messageId: undefined,
        extra: { ...o.extra, media_group_id: groupId },
      }),
    );
  },

  /**
   * A press of an inline button on the bot's message `messageId` in `chatId`. `queryId` names the
   * press (Telegram sends the same id when it redelivers); `userId` defaults to the chat's owner.
   */
  callbackQuery: (chatId: number, data: string, o: UpdateOptions & { queryId?: string; messageId?: number } = {}) => ({
    update_id: o.updateId ?? builderUpdateId++,
    callback_query: {
      id: o.queryId ?? String(builderMessageId++),
      from: { id: o.userId ?? chatId, is_bot: false, first_name: o.firstName ?? 'Aziz', language_code: o.languageCode ?? 'ru' },
      message: { message_id: o.messageId ?? 1, date: Math.floor(Date.now() / 1000), chat: { id: chatId, type: chatId < 0 ? 'supergroup' : 'private' } },
      chat_instance: 'ci-1',
      data,
    },
  }),
};
