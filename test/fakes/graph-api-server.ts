import { createHmac, createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Hold } from './hold.ts';

/**
 * A fake Meta Graph API (WhatsApp Cloud API) on 127.0.0.1: bearer auth, `/{version}/{phone-number-id}/messages`,
 * `/media` uploads (multipart), media id lookups that hand out a download URL, the download itself,
 * the phone number's fields, and Meta's error bodies (`{error:{message,type,code,error_data,fbtrace_id}}`).
 * It can close a customer's 24-hour window (free-form sends then fail with 131047, as Meta's do).
 * Also: builders for webhook payloads and their `X-Hub-Signature-256`.
 */

export interface SentWa {
  to: string;
  type: string;
  /** The whole JSON body as sent. */
  body: Record<string, unknown>;
  text?: string;
  /** `quickReplies`: the payloads given to the template's quick-reply buttons, in order (when it has any). */
  template?: { name: string; language: string; parameters: string[]; quickReplies?: string[] };
  /** An interactive message (list or reply buttons) as sent. */
  interactive?: { type: string; body: string; button?: string; rows: { id: string; title: string }[] };
  /** For media messages: the uploaded file the media id points to. */
  media?: FakeMedia;
  wamid: string;
}

export interface FakeMedia {
  id: string;
  name?: string;
  mime: string;
  data: Buffer;
}

export interface MetaFailure {
  status: number;
  code: number;
  message: string;
  details?: string;
  headers?: Record<string, string>;
}

export interface FakeGraph {
  /** http://127.0.0.1:PORT — the channel's `graphUrl`. */
  url: string;
  sent: SentWa[];
  uploads: FakeMedia[];
  requests: { method: string; path: string; authorization?: string }[];
  /** Media a customer "sent": the webhook carries `id`; the gateway downloads it. */
  addMedia(id: string, data: Buffer, mime: string): void;
  /** Free-form messages to this customer fail with 131047 until `openWindow`. */
  closeWindow(waId: string): void;
  openWindow(waId: string): void;
  /** The next `n` sends (POST …/messages) fail with Meta's error; `after` lets that many succeed first. */
  failNext(n: number, failure: MetaFailure, opts?: { after?: number }): void;
  /** Sends from now on are made (in `sent`, with their wamid) but answered only on `release()`: Meta's answer on its way. */
  holdSends(): { held(): number; release(): void };
  /** Forgets what the last test left: sends, uploads, requests, media, closed windows, failures. */
  reset(): void;
  close(): Promise<void>;
}

export async function startFakeGraph(opts: { accessToken: string; apiVersion?: string; phoneNumberIds?: string[] }): Promise<FakeGraph> {
  const version = opts.apiVersion ?? 'v23.0';
  const media = new Map<string, FakeMedia>();
  const closed = new Set<string>();
  const failures: { skip: number; left: number; failure: MetaFailure }[] = [];
  const sent: SentWa[] = [];
  const uploads: FakeMedia[] = [];
  const requests: FakeGraph['requests'] = [];
  let url = '';
  let seq = 1;
  /** Answers to sends wait on this while held (holdSends). */
  const gate = new Hold();

  const metaError = (status: number, code: number, message: string, details?: string, headers?: Record<string, string>): Answer => ({
    status,
    headers,
    body: {
      error: {
        message: `(#${code}) ${message}`,
        type: 'OAuthException',
        code,
        ...(details ? { error_data: { messaging_product: 'whatsapp', details } } : {}),
        fbtrace_id: `A${randomBytes(6).toString('hex')}`,
      },
    },
  });

  async function route(req: IncomingMessage, raw: Buffer, path: string[]): Promise<Answer | Buffer> {
    if (req.headers.authorization !== `Bearer ${opts.accessToken}`) {
      return metaError(401, 190, 'Invalid OAuth access token - Cannot parse access token');
    }
    if (req.method === 'GET' && path[0] === 'lookaside' && path[1]) {
      const m = media.get(path[1]);
      return m ? m.data : metaError(404, 100, 'Media not found');
    }
    if (path[0] !== version) return metaError(400, 2635, `The Graph API version ${path[0]} is not the one this fake serves (${version})`);
    const [id, edge] = [path[1] ?? '', path[2]];
    const phoneKnown = !opts.phoneNumberIds || opts.phoneNumberIds.includes(id);

    if (req.method === 'GET' && edge === undefined) {
      const m = media.get(id);
      if (m) {
        return {
          status: 200,
          body: {
            messaging_product: 'whatsapp',
            url: `${url}/lookaside/${encodeURIComponent(id)}`,
            mime_type: m.mime,
            sha256: createHash('sha256').update(m.data).digest('hex'),
            file_size: String(m.data.length),
            id,
          },
        };
      }
      if (phoneKnown && /^\d+$/.test(id)) return { status: 200, body: { display_phone_number: '+1 555-010-0000', verified_name: 'Acme Support', id } };
      return metaError(400, 100, 'Unsupported get request. Object does not exist, cannot be loaded due to missing permissions, or does not support this operation');
    }
    if (req.method === 'POST' && edge === 'media' && phoneKnown) {
      const form = await new Response(new Uint8Array(raw), { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData();
      const file = form.get('file');
      if (form.get('messaging_product') !== 'whatsapp' || !(file instanceof Blob)) {
        return metaError(400, 100, 'Invalid parameter', 'messaging_product and file are required');
      }
      const uploaded: FakeMedia = {
        id: String(900000 + seq++),
        name: file instanceof File ? file.name : undefined,
        mime: String(form.get('type') ?? file.type),
        data: Buffer.from(await file.arrayBuffer()),
      };
      uploads.push(uploaded);
      media.set(uploaded.id, uploaded);
      return { status: 200, body: { id: uploaded.id } };
    }
    if (req.method === 'POST' && edge === 'messages' && phoneKnown) {
      const answer = sendMessage(raw);
      if (answer.status === 200) await gate.pass();
      return answer;
    }
    return metaError(400, 100, `Unsupported ${req.method} request`);
  }

  function sendMessage(raw: Buffer): Answer {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      return metaError(400, 100, 'Invalid parameter', 'body is not JSON');
    }
    const to = typeof body.to === 'string' ? body.to : '';
    const type = typeof body.type === 'string' ? body.type : '';
    if (body.messaging_product !== 'whatsapp' || !to || !type || typeof body[type] !== 'object') {
      return metaError(400, 100, 'Invalid parameter', 'messaging_product, to, type and the type object are required');
    }
    const failure = failures[0];
    if (failure && failure.skip > 0) failure.skip -= 1;
    else if (failure) {
      if (--failure.left <= 0) failures.shift();
      const f = failure.failure;
      return metaError(f.status, f.code, f.message, f.details, f.headers);
    }
    if (type !== 'template' && closed.has(to)) {
      return metaError(400, 131047, 'Re-engagement message', 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.');
    }
    const record: SentWa = { to, type, body, wamid: `wamid.FAKE${String(seq++).padStart(10, '0')}` };
    const payload = body[type] as Record<string, unknown>;
    if (type === 'text') {
      const text = String(payload.body ?? '');
      if (text.length > 4096) return metaError(400, 100, 'Invalid parameter', 'text.body is longer than 4096 characters');
      record.text = text;
    } else if (type === 'template') {
      const components = (payload.components ?? []) as { type: string; sub_type?: string; index?: string; parameters?: { text?: string; payload?: string }[] }[];
      const quickReplies = components
        .filter((c) => c.type === 'button' && c.sub_type === 'quick_reply')
        .sort((a, b) => Number(a.index) - Number(b.index))
        .map((c) => String(c.parameters?.[0]?.payload));
      record.template = {
        name: String(payload.name),
        language: String((payload.language as { code?: string } | undefined)?.code),
        parameters: components.filter((c) => c.type === 'body').flatMap((c) => (c.parameters ?? []).map((p) => String(p.text))),
        ...(quickReplies.length > 0 ? { quickReplies } : {}),
      };
      if (record.template.parameters.some((p) => /[\n\t]| {5,}/.test(p))) {
        return metaError(400, 132018, 'There was an issue with the parameters in your template.', 'Param text cannot have new-line/tab characters or more than 4 consecutive spaces');
      }
    } else if (type === 'interactive') {
      const checked = interactiveOf(payload);
      if (typeof checked === 'string') return metaError(400, 131009, 'Parameter value is not valid', checked);
      record.interactive = checked;
    } else if (['image', 'video', 'audio', 'document', 'sticker'].includes(type)) {
      const m = media.get(String(payload.id));
      if (!m) return metaError(400, 131053, 'Media upload error', `media id ${String(payload.id)} is unknown`);
      record.media = m;
    }
    sent.push(record);
    return { status: 200, body: { messaging_product: 'whatsapp', contacts: [{ input: to, wa_id: to }], messages: [{ id: record.wamid }] } };
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const full = new URL(req.url ?? '/', 'http://fake');
      requests.push({ method: req.method ?? 'GET', path: full.pathname + full.search, authorization: req.headers.authorization });
      const path = full.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      route(req, Buffer.concat(chunks), path).then(
        (answer) => reply(res, answer),
        (err: unknown) => reply(res, { status: 500, body: { error: { message: String(err), type: 'FakeError', code: 1 } } }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    sent,
    uploads,
    requests,
    addMedia(id, data, mime) {
      media.set(id, { id, data, mime });
    },
    closeWindow: (waId) => void closed.add(waId),
    openWindow: (waId) => void closed.delete(waId),
    failNext(n, failure, o) {
      if (n > 0) failures.push({ skip: o?.after ?? 0, left: n, failure });
    },
    holdSends: () => gate.start(),
    reset() {
      gate.release();
      for (const list of [sent, uploads, requests, failures]) list.length = 0;
      media.clear();
      closed.clear();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** Meta's limits on interactive messages: a list (≤ 10 rows, titles ≤ 24, button ≤ 20) or ≤ 3 reply buttons. */
function interactiveOf(payload: Record<string, unknown>): NonNullable<SentWa['interactive']> | string {
  const type = String(payload.type ?? '');
  const body = String((payload.body as { text?: unknown } | undefined)?.text ?? '');
  const action = (payload.action ?? {}) as { button?: unknown; sections?: { rows?: { id?: unknown; title?: unknown }[] }[]; buttons?: unknown[] };
  if (body === '' || body.length > 1024) return 'interactive.body.text must be 1 to 1024 characters';
  if (type === 'button') {
    if (!Array.isArray(action.buttons) || action.buttons.length < 1 || action.buttons.length > 3) return 'reply buttons: 1 to 3 buttons';
    return { type, body, rows: [] };
  }
  if (type !== 'list') return `interactive.type ${type} is not supported by this fake`;
  const button = String(action.button ?? '');
  if (button === '' || button.length > 20) return 'action.button must be 1 to 20 characters';
  const rows = (action.sections ?? []).flatMap((sec) => sec.rows ?? []).map((r) => ({ id: String(r.id ?? ''), title: String(r.title ?? '') }));
  if (rows.length < 1 || rows.length > 10) return 'a list takes 1 to 10 rows in all';
  if (rows.some((r) => r.title === '' || r.title.length > 24)) return 'row titles must be 1 to 24 characters';
  if (rows.some((r) => r.id === '' || r.id.length > 200)) return 'row ids must be 1 to 200 characters';
  return { type, body, button, rows };
}

function reply(res: ServerResponse, answer: Answer | Buffer): void {
  if (Buffer.isBuffer(answer)) {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': answer.length });
    res.end(answer);
    return;
  }
  res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
  res.end(JSON.stringify(answer.body));
}

// ---------------------------------------------------------------- webhook payloads

export const PHONE_NUMBER_ID = '106540352242922';

export interface WaCustomer {
  waId: string;
  name?: string;
}

/** `messages[]` items in the Cloud API's webhook shape. */
export const waMessage = {
  text: (from: string, body: string, id: string, at = Date.now()) => base(from, id, at, 'text', { text: { body } }),
  /** The customer picked a row of a list message (`context.id`: that message). */
  listReply: (from: string, rowId: string, title: string, id: string, context?: string, at = Date.now()) =>
    base(from, id, at, 'interactive', { interactive: { type: 'list_reply', list_reply: { id: rowId, title } }, ...(context ? { context: { from: '15550100000', id: context } } : {}) }),
  /** The customer tapped a quick-reply button of a template: its payload comes back. */
  quickReply: (from: string, payload: string, text: string, id: string, at = Date.now()) =>
    base(from, id, at, 'button', { button: { payload, text } }),
  image: (from: string, mediaId: string, id: string, caption?: string, at = Date.now()) =>
    base(from, id, at, 'image', { image: { id: mediaId, mime_type: 'image/jpeg', sha256: 'x', ...(caption ? { caption } : {}) } }),
  document: (from: string, mediaId: string, id: string, filename: string, mime = 'application/pdf', at = Date.now()) =>
    base(from, id, at, 'document', { document: { id: mediaId, mime_type: mime, sha256: 'x', filename } }),
  reaction: (from: string, messageId: string, emoji: string, id: string, at = Date.now()) =>
    base(from, id, at, 'reaction', { reaction: { message_id: messageId, emoji } }),
};

function base(from: string, id: string, at: number, type: string, extra: Record<string, unknown>): Record<string, unknown> {
  return { from, id, timestamp: String(Math.floor(at / 1000)), type, ...extra };
}

/** One `changes[]` item: the messages (and statuses) of one business number. */
export function waChange(opts: { contacts?: WaCustomer[]; messages?: object[]; statuses?: object[]; phoneNumberId?: string }): object {
  const value: Record<string, unknown> = {
    messaging_product: 'whatsapp',
    metadata: { display_phone_number: '15550100000', phone_number_id: opts.phoneNumberId ?? PHONE_NUMBER_ID },
  };
  if (opts.contacts) value.contacts = opts.contacts.map((c) => ({ profile: { name: c.name ?? c.waId }, wa_id: c.waId }));
  if (opts.messages) value.messages = opts.messages;
  if (opts.statuses) value.statuses = opts.statuses;
  return { field: 'messages', value };
}

/** The whole webhook body: entries of changes. */
export function waPayload(entries: object[][]): object {
  return { object: 'whatsapp_business_account', entry: entries.map((changes, i) => ({ id: `10200000000000${i}`, changes })) };
}

export function failedStatus(wamid: string, recipient: string, error: { code: number; title: string; details?: string }): object {
  return {
    id: wamid,
    status: 'failed',
    timestamp: String(Math.floor(Date.now() / 1000)),
    recipient_id: recipient,
    errors: [{ code: error.code, title: error.title, message: error.title, error_data: { details: error.details ?? error.title } }],
  };
}

/** Body and headers as Meta would POST them (non-ASCII escaped as \uXXXX, like Meta does). */
export function signedWebhook(payload: object, appSecret: string): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify(payload).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const signature = createHmac('sha256', appSecret).update(body).digest('hex');
  return { body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${signature}` } };
}
