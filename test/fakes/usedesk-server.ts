import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake Usedesk API on 127.0.0.1, answering in the shapes of Usedesk's documentation: every
 * method is a POST to `/{method}` with `api_token` in the body (JSON, form or multipart with
 * `files[]`); failures come back as HTTP 200 with an `error` field (and a `code`), the way
 * Usedesk answers. Methods: create/client, clients (search), client, create/ticket (with
 * `additional_id`), ticket (ticket + tags + comments), update/ticket, create/comment,
 * chat/addMessage, channels. Files are served by a second server, as URL strings in comments.
 */

export interface UdFile {
  id: number;
  name: string;
  content_type: string;
  data: Buffer;
}

export interface UdComment {
  id: number;
  ticket_id: number;
  message: string;
  from: 'client' | 'user' | 'trigger';
  type: 'public' | 'private';
  user_id: number | null;
  client_id: number | null;
  files: UdFile[];
  published_at: string;
}

export interface UdTicket {
  id: number;
  subject: string;
  client_id: number;
  channel_id: number;
  /** 1 open, 2 solved, 3 closed, 4 deleted, 5 on hold, 6 pending, 7 spam, 8 new, 10 merged. */
  status_id: number;
  priority: string;
  type: string;
  group: number | null;
  tags: string[];
  additional_id: string | null;
  custom_fields: { id: number; value: string }[];
  chat_id: number | null;
  comments: UdComment[];
  created_at: string;
}

export interface UdClient {
  id: number;
  name: string;
  emails: string[];
  phones: string[];
  messengers: { identity: string; type: string }[];
  note: string;
}

export interface UdRequest {
  method: string;
  body: Record<string, unknown>;
}

export interface UdFailure {
  /** HTTP status; 200 with `body` = an `{error}` answer is how Usedesk reports most failures. */
  status: number;
  body?: string;
  headers?: Record<string, string>;
  delayMs?: number;
  applyFirst?: boolean;
}

export interface FakeUsedesk {
  /** http://127.0.0.1:PORT — the helpdesk's `baseUrl`. */
  url: string;
  apiChannelId: number;
  chatChannelId: number;
  companyId: number;
  tickets: UdTicket[];
  clients: UdClient[];
  requests: UdRequest[];
  /** The next `n` writes (create/*, update/*, chat/addMessage) fail so. */
  failNext(n: number, failure: UdFailure): void;
  addAgentReply(ticketId: number, text: string, opts?: { private?: boolean; files?: { name: string; content_type: string; data: Buffer }[] }): UdComment;
  setStatus(ticketId: number, status: number): void;
  /** An agent re-files the ticket with these tags. */
  retag(ticketId: number, tags: string[]): void;
  /** A ticket agents already handled: the client's first comment and the final tags. */
  seedTicket(t: { subject?: string; message: string; tags: string[]; createdAt?: string }): UdTicket;
  /** The body of the API channel's "new comment" webhook for a comment, as Usedesk sends it. */
  commentWebhook(comment: UdComment, secret: string): Record<string, unknown>;
  /** Forgets what the last test left (tickets, clients, requests, failures); ids keep counting up. */
  reset(): void;
  /** The API channel's "change ticket" webhook for the ticket's current status. */
  statusWebhook(ticketId: number, secret: string): Record<string, unknown>;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const stamp = () => new Date().toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, '');
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined);

const PRIORITIES = ['low', 'medium', 'urgent', 'extreme'];
const TYPES = ['question', 'task', 'problem', 'incident'];
const WRITES = /^\/(create\/|update\/|chat\/addMessage)/;

class UdError extends Error {
  readonly body: Json;
  constructor(error: string, code?: number) {
    super(error);
    this.body = { error, ...(code !== undefined ? { code } : {}) };
  }
}

/** JSON, form (`a[]`, `a[b]`) or multipart, as one object; files as `{ name, content_type, data }`. */
async function readBody(req: IncomingMessage, raw: Buffer): Promise<Json> {
  const type = req.headers['content-type'] ?? '';
  if (raw.length === 0) return {};
  if (type.includes('json')) {
    const parsed: unknown = JSON.parse(raw.toString('utf8'));
    return isObject(parsed) ? parsed : {};
  }
  const entries: [string, unknown][] = [];
  if (type.startsWith('multipart/form-data')) {
    const form = await new Response(new Uint8Array(raw), { headers: { 'content-type': type } }).formData();
    for (const [key, value] of form.entries()) {
      entries.push([key, typeof value === 'string' ? value : { name: value.name, content_type: value.type, data: Buffer.from(await value.arrayBuffer()) }]);
    }
  } else {
    for (const [key, value] of new URLSearchParams(raw.toString('utf8'))) entries.push([key, value]);
  }
  const out: Json = {};
  for (const [key, value] of entries) {
    const array = /^(.+)\[\]$/.exec(key);
    if (array) ((out[array[1]!] ??= []) as unknown[]).push(value);
    else out[key] = value;
  }
  return out;
}

export async function startFakeUsedesk(opts: { apiToken?: string; groups?: number[]; fields?: number[] } = {}): Promise<FakeUsedesk> {
  const apiToken = opts.apiToken ?? 'fake-usedesk-token';
  const apiChannelId = 1001;
  const chatChannelId = 1002;
  const companyId = 153561;
  const agent = { id: 27, name: 'Alice Agent' };
  const tickets: UdTicket[] = [];
  const clients: UdClient[] = [];
  const requests: UdRequest[] = [];
  const failures: { left: number; failure: UdFailure }[] = [];
  const files = new Map<number, UdFile>();
  const ids = { client: 11115001, ticket: 3409001, comment: 88001, file: 501, chat: 5603001 };
  let filesUrl = '';

  const fileUrl = (f: UdFile) => `${filesUrl}/files/${f.id}/${encodeURIComponent(f.name)}`;
  const storeFiles = (list: unknown): UdFile[] =>
    (Array.isArray(list) ? list : []).filter((f): f is Json => isObject(f) && Buffer.isBuffer(f.data)).map((f) => {
      const file: UdFile = { id: ids.file++, name: String(f.name), content_type: String(f.content_type || 'application/octet-stream'), data: f.data as Buffer };
      files.set(file.id, file);
      return file;
    });
  const commentJson = (c: UdComment) => ({
    id: c.id,
    message: c.message,
    from: c.from,
    type: c.type,
    user_id: c.user_id,
    client_id: c.client_id,
    ticket_id: c.ticket_id,
    is_first: 0,
    published_at: c.published_at,
    files: c.files.map(fileUrl),
  });
  const ticketById = (id: unknown): UdTicket => {
    const t = tickets.find((x) => x.id === num(id));
    if (!t) throw new UdError('Ticket not found', 404);
    return t;
  };
  const clientById = (id: unknown): UdClient => {
    const c = clients.find((x) => x.id === num(id));
    if (!c) throw new UdError('Client not found', 404);
    return c;
  };
  const addComment = (ticket: UdTicket, c: Omit<UdComment, 'id' | 'ticket_id' | 'published_at'>): UdComment => {
    const comment: UdComment = { ...c, id: ids.comment++, ticket_id: ticket.id, published_at: stamp() };
    ticket.comments.push(comment);
    return comment;
  };
  const newClient = (b: Json): UdClient => {
    const client: UdClient = {
      id: ids.client++,
      name: typeof b.name === 'string' && b.name.trim() ? b.name : 'Client',
      emails: Array.isArray(b.emails) ? b.emails.map(String) : typeof b.client_email === 'string' ? [b.client_email] : [],
      phones: typeof b.phone === 'string' ? [b.phone] : typeof b.client_phone === 'string' ? [b.client_phone] : [],
      messengers: Array.isArray(b.messengers) ? b.messengers.filter(isObject).map((m) => ({ identity: String(m.identity), type: String(m.type) })) : [],
      note: typeof b.note === 'string' ? b.note : '',
    };
    if (client.phones.some((p) => !/^\d{10,15}$/.test(p))) throw new UdError('The phone must be 10 to 15 digits', 422);
    clients.push(client);
    return client;
  };
  const newTicket = (b: Json, client: UdClient, channelId: number, chatId: number | null): UdTicket => {
    const t: UdTicket = {
      id: ids.ticket++,
      subject: String(b.subject ?? 'Chat'),
      client_id: client.id,
      channel_id: channelId,
      status_id: num(b.status) ?? 8,
      priority: typeof b.priority === 'string' ? b.priority : 'medium',
      type: typeof b.type === 'string' ? b.type : 'question',
      group: num(b.group_id) ?? null,
      tags: typeof b.tag === 'string' ? b.tag.split(',').map((s) => s.trim()).filter(Boolean) : [],
      additional_id: typeof b.additional_id === 'string' ? b.additional_id : null,
      custom_fields: [],
      chat_id: chatId,
      comments: [],
      created_at: stamp(),
    };
    tickets.push(t);
    return t;
  };

  function route(method: string, b: Json): unknown {
    if (b.api_token !== apiToken) throw new UdError('Unauthorized: wrong api_token', 111);
    switch (method) {
      case '/channels':
        return [
          { channel_id: apiChannelId, channel_name: 'Switchboard API', channel_type: 'api' },
          { channel_id: chatChannelId, channel_name: 'Switchboard chat', channel_type: 'chat' },
        ];
      case '/create/client':
        return { client_id: newClient(b).id, status: true };
      case '/update/client': {
        // Usedesk adds emails and a phone to the client's own.
        const c = clientById(b.client_id);
        const emails = Array.isArray(b.emails) ? b.emails.map(String) : [];
        for (const e of emails) if (!c.emails.includes(e.toLowerCase())) c.emails.push(e.toLowerCase());
        if (typeof b.phone === 'string' && !c.phones.includes(b.phone)) c.phones.push(b.phone);
        return { client_id: c.id, status: true };
      }
      case '/clients': {
        const q = String(b.query ?? '').toLowerCase();
        const full = b.search_type !== 'partial_match';
        const hit = (s: string) => (full ? s.toLowerCase() === q : s.toLowerCase().includes(q));
        return clients
          .filter((c) => q && (hit(c.name) || c.emails.some(hit) || c.phones.some(hit) || c.messengers.some((m) => hit(m.identity))))
          .map((c) => ({ id: c.id, name: c.name, tickets: tickets.filter((t) => t.client_id === c.id).map((t) => t.id), phone: c.phones.join(', ') || null, emails: c.emails.join(', ') || null }));
      }
      case '/client': {
        const c = clientById(b.client_id);
        return {
          id: c.id,
          name: c.name,
          note: c.note,
          emails: c.emails.map((email) => ({ email })),
          phones: c.phones.map((phone) => ({ phone, type: 'mobile' })),
          messengers: c.messengers,
          tickets: tickets.filter((t) => t.client_id === c.id).map((t) => t.id),
        };
      }
      case '/create/ticket': {
        if (!b.subject) throw new UdError('The subject field is required', 422);
        if (!b.message) throw new UdError('The message field is required', 422);
        if (String(b.subject).length > 255) throw new UdError('The subject may not be greater than 255 characters', 422);
        if (b.priority !== undefined && !PRIORITIES.includes(String(b.priority))) throw new UdError('The selected priority is invalid', 422);
        if (b.type !== undefined && !TYPES.includes(String(b.type))) throw new UdError('The selected type is invalid', 422);
        const channelId = num(b.channel_id) ?? apiChannelId;
        if (channelId !== apiChannelId) throw new UdError('Channel not found', 404);
        if (b.group_id !== undefined && opts.groups && !opts.groups.includes(num(b.group_id) ?? -1)) throw new UdError('Group not found', 404);
        const client = b.client_id === 'new_client' || b.client_id === undefined ? newClient({ name: b.client_name, client_email: b.client_email, client_phone: b.client_phone }) : clientById(b.client_id);
        const fieldIds = typeof b.field_id === 'string' ? b.field_id.split(',').map((s) => s.trim()).filter(Boolean) : [];
        const fieldValues = typeof b.field_value === 'string' ? b.field_value.split(',') : [];
        for (const id of fieldIds) if (opts.fields && !opts.fields.includes(Number(id))) throw new UdError(`Field ${id} not found`, 404);
        const ticket = newTicket(b, client, channelId, null);
        ticket.custom_fields = fieldIds.map((id, i) => ({ id: Number(id), value: (fieldValues[i] ?? '').trim() }));
        addComment(ticket, {
          message: String(b.message),
          from: b.from === 'user' ? 'user' : 'client',
          type: b.private_comment === true || b.private_comment === 'true' ? 'private' : 'public',
          user_id: null,
          client_id: client.id,
          files: storeFiles(b.files),
        });
        return { status: 'success', ticket_id: ticket.id };
      }
      // The ticket list: newest first, 100 a page, `offset` is the page number; no texts.
      case '/tickets': {
        const page = num(b.offset) ?? 0;
        const list = [...tickets].sort((x, y) => y.created_at.localeCompare(x.created_at) || y.id - x.id).slice(page * 100, page * 100 + 100);
        return list.map((t) => ({
          id: t.id, subject: t.subject, status_id: t.status_id, client_id: t.client_id, channel_id: t.channel_id,
          published_at: t.created_at, last_updated_at: t.comments.at(-1)?.published_at ?? t.created_at,
        }));
      }
      case '/ticket': {
        const t = ticketById(b.ticket_id);
        return {
          ticket: { id: t.id, subject: t.subject, client_id: t.client_id, channel_id: t.channel_id, status_id: t.status_id, priority: t.priority, type: t.type, group: t.group, additional_id: t.additional_id, published_at: t.created_at },
          tags: t.tags,
          custom_fields: t.custom_fields,
          comments: t.comments.map(commentJson),
        };
      }
      case '/update/ticket': {
        const t = ticketById(b.ticket_id);
        if (b.priority !== undefined) {
          if (!PRIORITIES.includes(String(b.priority))) throw new UdError('The selected priority is invalid', 422);
          t.priority = String(b.priority);
        }
        if (typeof b.tag === 'string') t.tags = b.tag.split(',').map((s) => s.trim()).filter(Boolean);
        if (b.status !== undefined) t.status_id = num(b.status) ?? t.status_id;
        return { status: 'success' };
      }
      case '/create/comment': {
        const t = ticketById(b.ticket_id);
        if ([4, 10].includes(t.status_id)) throw new UdError('Ticket not found', 404);
        if (!b.message) throw new UdError('The message field is required', 422);
        const from = b.from === 'client' ? 'client' : b.from === 'trigger' ? 'trigger' : 'user';
        const comment = addComment(t, {
          message: String(b.message),
          from,
          type: b.type === 'public' ? 'public' : 'private',
          user_id: from === 'user' ? (num(b.user_id) ?? agent.id) : null,
          client_id: from === 'client' ? t.client_id : null,
          files: storeFiles(b.files),
        });
        // A customer writing on a solved or pending ticket reopens it.
        if (from === 'client' && [2, 6].includes(t.status_id)) t.status_id = 1;
        return { status: 'success', comment_id: comment.id };
      }
      case '/chat/addMessage': {
        if (num(b.channel_id) !== chatChannelId) return { status: false };
        const m = isObject(b.message) ? b.message : {};
        if (typeof m.text !== 'string' || !m.text) throw new UdError('The message.text field is required', 422);
        const from = isObject(m.from) ? m.from : {};
        const existing = num(b.chat_id) !== undefined ? tickets.find((t) => t.chat_id === num(b.chat_id)) : undefined;
        if (num(b.chat_id) !== undefined && !existing) throw new UdError('Chat not found', 404);
        const client = existing ? clientById(existing.client_id) : from.client_id !== undefined ? clientById(from.client_id) : newClient({ name: from.name, client_email: from.email });
        const ticket = existing ?? newTicket({ subject: `Chat with ${client.name}` }, client, chatChannelId, ids.chat++);
        addComment(ticket, { message: m.text, from: 'client', type: 'public', user_id: null, client_id: client.id, files: [] });
        if ([2, 3].includes(ticket.status_id)) ticket.status_id = 1;
        // A new chat's ticket is reported later (as Usedesk documents: ticket_id null for a new chat).
        return { chat_id: ticket.chat_id, company_id: companyId, ticket_id: existing ? ticket.id : null, channel_id: chatChannelId, client_id: client.id };
      }
      default:
        throw new UdError(`Method ${method} not found`, 404);
    }
  }

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (res.destroyed) return;
    const payload = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(payload);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    const method = new URL(req.url ?? '/', 'http://fake').pathname.replace(/\/+$/, '');
    let body: Json;
    try {
      body = await readBody(req, raw);
    } catch {
      send(res, 200, { error: 'Malformed request body', code: 400 });
      return;
    }
    requests.push({ method, body: Object.fromEntries(Object.entries(body).map(([k, v]) => [k, Array.isArray(v) ? v.map((x) => (isObject(x) && Buffer.isBuffer(x.data) ? { name: x.name, size: x.data.length } : x)) : v])) });
    const compute = (): unknown => {
      try {
        return route(method, body);
      } catch (err) {
        if (err instanceof UdError) return err.body;
        throw err;
      }
    };
    const failure = WRITES.test(method) ? failures[0] : undefined;
    if (failure) {
      failure.left -= 1;
      if (failure.left <= 0) failures.shift();
      const f = failure.failure;
      if (f.applyFirst) compute();
      if (f.delayMs) await new Promise((r) => setTimeout(r, f.delayMs));
      send(res, f.status, f.body ?? { error: `simulated ${f.status}` }, f.headers);
      return;
    }
    send(res, 200, compute());
  }

  const collect = (handler: (req: IncomingMessage, res: ServerResponse, raw: Buffer) => Promise<void>): Server =>
    createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => void handler(req, res, Buffer.concat(chunks)).catch((err: unknown) => send(res, 500, { error: String(err) })));
    });
  const listen = (server: Server) => new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
  const api = collect(handle);
  const fileServer = collect(async (req, res) => {
    const id = Number(/^\/files\/(\d+)\//.exec(new URL(req.url ?? '/', 'http://fake').pathname)?.[1]);
    const f = files.get(id);
    if (!f) res.writeHead(404).end('not found');
    else res.writeHead(200, { 'content-type': f.content_type, 'content-length': String(f.data.length) }).end(f.data);
  });
  const url = await listen(api);
  filesUrl = await listen(fileServer);

  return {
    url,
    apiChannelId,
    chatChannelId,
    companyId,
    tickets,
    clients,
    requests,
    failNext(n, failure) {
      if (n > 0) failures.push({ left: n, failure });
    },
    addAgentReply(ticketId, text, o = {}) {
      const t = ticketById(ticketId);
      return addComment(t, { message: `<p>${text}</p>`, from: 'user', type: o.private ? 'private' : 'public', user_id: agent.id, client_id: null, files: storeFiles(o.files) });
    },
    setStatus(ticketId, status) {
      ticketById(ticketId).status_id = status;
    },
    retag(ticketId, tags) {
      ticketById(ticketId).tags = [...tags];
    },
    seedTicket(t) {
      const client = newClient({ name: 'Seeded Player' });
      const ticket = newTicket({ subject: t.subject ?? 'Question', tag: t.tags.join(', '), status: 2 }, client, apiChannelId, null);
      if (t.createdAt) ticket.created_at = t.createdAt;
      const comment = addComment(ticket, { message: `<p>${t.message}</p>`, from: 'client', type: 'public', user_id: null, client_id: client.id, files: [] });
      if (t.createdAt) comment.published_at = t.createdAt;
      return ticket;
    },
    commentWebhook(comment, secret) {
      const t = ticketById(comment.ticket_id);
      return { secret, comment: commentJson(comment), client: { id: t.client_id }, assignee_id: null };
    },
    reset() {
      for (const list of [tickets, clients, requests, failures]) list.length = 0;
      files.clear();
    },
    statusWebhook(ticketId, secret) {
      const t = ticketById(ticketId);
      return { secret, trigger: { ticket_id: t.id, new_status: t.status_id }, client: { id: t.client_id } };
    },
    async close() {
      for (const server of [api, fileServer]) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}
