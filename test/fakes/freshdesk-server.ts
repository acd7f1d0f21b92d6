import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake Freshdesk (API v2) on 127.0.0.1, answering in Freshdesk's documented shapes: Basic auth
 * with the API key as user name, contacts (lookup by email / phone / mobile / unique_external_id,
 * create with `duplicate_value` conflicts), the account's ticket types, tickets as JSON or
 * multipart (`attachments[]`, 20 MB per ticket), notes, conversations with `Link` paging, list
 * by requester, and Freshdesk's error bodies (400 `{description, errors[{field,message,code}]}`,
 * 401, 404). Attachments are served by a second server (another origin, like Freshdesk's S3
 * links) that refuses requests carrying an Authorization header.
 *
 * With `rateLimit`, it enforces N requests per window (fixed windows, like Freshdesk's per-minute
 * limit) and answers every request with X-RateLimit-Total / -Remaining / -Used-CurrentRequest,
 * and 429 + Retry-After beyond it. State is plain arrays so tests can read it directly.
 */

export interface FdAttachment {
  id: number;
  name: string;
  content_type: string;
  size: number;
  data: Buffer;
}

export interface FdConversation {
  id: number;
  ticket_id: number;
  body: string;
  body_text: string;
  incoming: boolean;
  private: boolean;
  /** 0 reply, 2 note. */
  source: number;
  user_id: number;
  attachments: FdAttachment[];
  created_at: string;
}

export interface FdTicket {
  id: number;
  subject: string;
  description: string;
  description_text: string;
  requester_id: number;
  status: number;
  priority: number;
  source: number;
  type: string | null;
  group_id: number | null;
  tags: string[];
  custom_fields: Record<string, unknown>;
  attachments: FdAttachment[];
  /** In the trash: still readable, marked deleted. */
  deleted: boolean;
  conversations: FdConversation[];
  created_at: string;
  updated_at: string;
}

export interface FdContact {
  id: number;
  name: string;
  email: string | null;
  phone: string | null;
  mobile: string | null;
  unique_external_id: string | null;
  other_emails?: string[];
}

export interface FdRequest {
  method: string;
  /** Path and query string. */
  path: string;
  headers: Record<string, string>;
  /** Parsed JSON, or the multipart fields (files as `{ name, type, size }`). */
  body: unknown;
}

export interface FdFailure {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  delayMs?: number;
  /** Perform the write, then answer with the failure: the answer is lost, the write is not. */
  applyFirst?: boolean;
}

/** A satisfaction rating, as POST /tickets/{id}/satisfaction_ratings makes one. */
export interface FdRating {
  id: number;
  ticket_id: number;
  ratings: Record<string, number>;
  feedback: string | null;
  created_at: string;
}

export interface FakeFreshdesk {
  /** http://127.0.0.1:PORT — the helpdesk's `baseUrl`. */
  url: string;
  tickets: FdTicket[];
  /** Satisfaction ratings, in order. */
  ratings: FdRating[];
  contacts: FdContact[];
  requests: FdRequest[];
  /** Requests answered, and answered 429, under `rateLimit`: in all, and per window (by its start, ms). */
  rate: { accepted: number; limited: number; windows: Map<number, { accepted: number; limited: number; other: number }> };
  /** The next `n` writes (POST/PUT) fail with `failure`. */
  failNext(n: number, failure: FdFailure): void;
  /** Another app on the same account uses `n` requests of the current window (as many as are left). */
  consume(n: number): void;
  addAgentReply(ticketId: number, body: string, opts?: { private?: boolean; attachments?: { name: string; content_type: string; data: Buffer }[] }): FdConversation;
  /** Sets the status: 4 resolved, 5 closed. */
  setStatus(ticketId: number, status: number): void;
  /** An agent re-files the ticket with these tags. */
  retag(ticketId: number, tags: string[]): void;
  /** A ticket agents already handled: the customer's first message and the final tags. */
  seedTicket(t: { subject?: string; description: string; tags: string[]; createdAt?: string }): FdTicket;
  /** To the trash (`deleted: true`), or `permanently` (404 from then on). */
  deleteTicket(ticketId: number, opts?: { permanently?: boolean }): void;
  /** Forgets what the last test left (tickets, contacts, ratings, requests, failures, the rate window); ids keep counting up. */
  reset(): void;
  close(): Promise<void>;
}

export interface FakeFreshdeskOptions {
  apiKey?: string;
  ticketTypes?: string[];
  /** Custom ticket field names the account has (`cf_…`). */
  customFields?: string[];
  /** Group ids the account has; any number is accepted when unset. */
  groups?: number[];
  /**
   * `perWindow` requests per window of `windowMs` (60 s). `reportedTotal` is what X-RateLimit-Total
   * says (default `perWindow`): a compressed window (6 s of N/10) still reports N a minute.
   */
  rateLimit?: { perWindow: number; windowMs?: number; reportedTotal?: number };
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const MAX_ATTACHMENTS_BYTES = 20 * 1024 * 1024;
const PRIORITIES = [1, 2, 3, 4];
const STATUSES = [2, 3, 4, 5];
const SOURCES = [1, 2, 3, 7, 9, 10];
/** Freshdesk's rating values, Extremely Happy … Extremely Unhappy. */
const RATING_VALUES = [103, 102, 101, 100, -101, -102, -103];
const TICKET_FIELDS = new Set(['subject', 'description', 'requester_id', 'email', 'phone', 'name', 'unique_external_id', 'status', 'priority', 'source', 'type', 'group_id', 'tags', 'custom_fields', 'attachments', 'responder_id', 'cc_emails', 'parent_id']);

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface FieldError {
  field: string;
  message: string;
  code: string;
  additional_info?: Json;
}

class FdError extends Error {
  readonly answer: Answer;
  constructor(status: number, body: unknown) {
    super(JSON.stringify(body));
    this.answer = { status, body };
  }
}

const invalid = (errors: FieldError[]) => new FdError(400, { description: 'Validation failed', errors });
const notFound = () => new FdError(404, { description: 'Resource not found' });

const htmlToText = (html: string) =>
  html.replace(/<br\s*\/?>/gi, '\n').replace(/<\/p>\s*/gi, '\n').replace(/<[^>]+>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&').trim();

/** A request body as fields: JSON as is; multipart with `a[]` as arrays, `a[b]` as objects, files kept. */
async function readBody(req: IncomingMessage, raw: Buffer): Promise<Json | undefined> {
  const type = req.headers['content-type'] ?? '';
  if (raw.length === 0) return undefined;
  if (type.includes('json')) {
    const parsed: unknown = JSON.parse(raw.toString('utf8'));
    if (!isObject(parsed)) throw invalid([{ field: 'body', message: 'Request body must be a JSON object', code: 'invalid_json' }]);
    return parsed;
  }
  if (type.startsWith('multipart/form-data')) {
    const form = await new Response(new Uint8Array(raw), { headers: { 'content-type': type } }).formData();
    const out: Json = {};
    for (const [key, value] of form.entries()) {
      const item = typeof value === 'string' ? value : { name: value.name, content_type: value.type, data: Buffer.from(await value.arrayBuffer()) };
      const array = /^(.+)\[\]$/.exec(key);
      const nested = /^(.+)\[([^\]]+)\]$/.exec(key);
      if (array) ((out[array[1]!] ??= []) as unknown[]).push(item);
      else if (nested) ((out[nested[1]!] ??= {}) as Json)[nested[2]!] = item;
      else out[key] = item;
    }
    return out;
  }
  throw new FdError(415, { code: 'invalid_content_type', message: `Content-Type ${type} is not supported` });
}

/** Multipart values are strings: numbers and booleans as Freshdesk would coerce them. */
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined);
const bool = (v: unknown, dflt: boolean): boolean => (v === undefined ? dflt : v === true || v === 'true');

export async function startFakeFreshdesk(opts: FakeFreshdeskOptions = {}): Promise<FakeFreshdesk> {
  const apiKey = opts.apiKey ?? 'fake-freshdesk-key';
  const basic = `Basic ${Buffer.from(`${apiKey}:X`).toString('base64')}`;
  const ticketTypes = opts.ticketTypes ?? ['Question', 'Incident', 'Problem', 'Feature Request', 'Refund'];
  const customFields = new Set(opts.customFields ?? ['cf_player_id']);
  const windowMs = opts.rateLimit?.windowMs ?? 60_000;

  const tickets: FdTicket[] = [];
  const ratings: FdRating[] = [];
  const contacts: FdContact[] = [];
  const requests: FdRequest[] = [];
  const purged = new Set<number>();
  const failures: { left: number; failure: FdFailure }[] = [];
  const attachments = new Map<number, FdAttachment>();
  const ids = { contact: 5001, ticket: 1, conversation: 9001, attachment: 7001, rating: 3001 };
  const agent = { id: 42, name: 'Alice Agent' };
  const rate = { accepted: 0, limited: 0, windows: new Map<number, { accepted: number; limited: number; other: number }>() };
  let window = { index: -1, used: 0 };
  let url = '';
  let filesUrl = '';

  const storeFiles = (files: unknown): FdAttachment[] => {
    const list = Array.isArray(files) ? files : [];
    const stored: FdAttachment[] = [];
    for (const f of list) {
      if (!isObject(f) || !Buffer.isBuffer(f.data)) continue;
      const a: FdAttachment = { id: ids.attachment++, name: String(f.name), content_type: String(f.content_type || 'application/octet-stream'), size: f.data.length, data: f.data };
      attachments.set(a.id, a);
      stored.push(a);
    }
    return stored;
  };
  const attachmentJson = (a: FdAttachment) => ({
    id: a.id,
    name: a.name,
    content_type: a.content_type,
    size: a.size,
    attachment_url: `${filesUrl}/data/helpdesk/attachments/production/${a.id}/original/${encodeURIComponent(a.name)}?X-Amz-Signature=fake${a.id}`,
    created_at: now(),
  });
  const ticketJson = (t: FdTicket, full = true) => ({
    id: t.id,
    subject: t.subject,
    ...(full ? { description: t.description, description_text: t.description_text, attachments: t.attachments.map(attachmentJson) } : {}),
    requester_id: t.requester_id,
    status: t.status,
    priority: t.priority,
    source: t.source,
    type: t.type,
    group_id: t.group_id,
    tags: t.tags,
    custom_fields: { ...Object.fromEntries([...customFields].map((k) => [k, null])), ...t.custom_fields },
    deleted: t.deleted || undefined,
    created_at: t.created_at,
    updated_at: t.updated_at,
  });
  const conversationJson = (c: FdConversation) => ({
    id: c.id,
    body: c.body,
    body_text: c.body_text,
    incoming: c.incoming,
    private: c.private,
    source: c.source,
    user_id: c.user_id,
    ticket_id: c.ticket_id,
    attachments: c.attachments.map(attachmentJson),
    created_at: c.created_at,
    updated_at: c.created_at,
  });
  const ticketById = (id: number): FdTicket => {
    const t = tickets.find((x) => x.id === id);
    if (!t || purged.has(id)) throw notFound();
    return t;
  };

  function validateTicketFields(b: Json, errors: FieldError[], creating: boolean): void {
    for (const key of Object.keys(b)) if (!TICKET_FIELDS.has(key)) errors.push({ field: key, message: 'Unexpected/invalid field in request', code: 'invalid_field' });
    if (creating && !b.subject) errors.push({ field: 'subject', message: 'It should be a/an String', code: 'missing_field' });
    if (creating && !b.description) errors.push({ field: 'description', message: 'It should be a/an String', code: 'missing_field' });
    if (b.priority !== undefined && !PRIORITIES.includes(num(b.priority) ?? -1)) errors.push({ field: 'priority', message: "It should be one of these values: '1,2,3,4'", code: 'invalid_value' });
    if (b.status !== undefined && !STATUSES.includes(num(b.status) ?? -1)) errors.push({ field: 'status', message: "It should be one of these values: '2,3,4,5'", code: 'invalid_value' });
    if (b.source !== undefined && !SOURCES.includes(num(b.source) ?? -1)) errors.push({ field: 'source', message: `It should be one of these values: '${SOURCES.join(',')}'`, code: 'invalid_value' });
    if (b.type !== undefined && b.type !== null && !ticketTypes.includes(String(b.type))) errors.push({ field: 'type', message: `It should be one of these values: '${ticketTypes.join(',')}'`, code: 'invalid_value' });
    if (b.group_id !== undefined && b.group_id !== null) {
      const g = num(b.group_id);
      if (g === undefined || (opts.groups && !opts.groups.includes(g))) errors.push({ field: 'group_id', message: 'There is no group matching the given group_id', code: 'invalid_value' });
    }
    if (b.tags !== undefined && (!Array.isArray(b.tags) || b.tags.some((t) => typeof t !== 'string'))) errors.push({ field: 'tags', message: 'It should be a/an Array', code: 'datatype_mismatch' });
    if (b.custom_fields !== undefined) {
      if (!isObject(b.custom_fields)) errors.push({ field: 'custom_fields', message: 'It should be a/an key/value pair', code: 'datatype_mismatch' });
      else for (const key of Object.keys(b.custom_fields)) if (!customFields.has(key)) errors.push({ field: key, message: 'Unexpected/invalid field in request', code: 'invalid_field' });
    }
    const size = (Array.isArray(b.attachments) ? b.attachments : []).reduce((n: number, f) => n + (isObject(f) && Buffer.isBuffer(f.data) ? f.data.length : 0), 0);
    if (size > MAX_ATTACHMENTS_BYTES) errors.push({ field: 'attachments', message: 'The cumulative attachment size cannot exceed 20 MB', code: 'invalid_size' });
  }

  function createContact(b: Json): Answer {
    const errors: FieldError[] = [];
    if (typeof b.name !== 'string' || !b.name.trim()) errors.push({ field: 'name', message: 'It should be a/an String', code: 'missing_field' });
    const email = typeof b.email === 'string' ? b.email.trim().toLowerCase() : null;
    const external = typeof b.unique_external_id === 'string' ? b.unique_external_id : null;
    if (!email && !b.phone && !b.mobile && !external) {
      errors.push({ field: 'requester_id', message: 'Please fill at least 1 of email, mobile, phone, twitter_id, unique_external_id fields', code: 'missing_field' });
    }
    if (email && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) errors.push({ field: 'email', message: 'It should be in the \'valid email address\' format', code: 'invalid_value' });
    const byEmail = email ? contacts.find((c) => c.email === email) : undefined;
    if (byEmail) errors.push({ field: 'email', message: 'It should be a unique value', code: 'duplicate_value', additional_info: { user_id: byEmail.id } });
    const byExternal = external ? contacts.find((c) => c.unique_external_id === external) : undefined;
    if (byExternal) errors.push({ field: 'unique_external_id', message: 'It should be a unique value', code: 'duplicate_value', additional_info: { user_id: byExternal.id } });
    if (errors.some((e) => e.code === 'duplicate_value')) throw new FdError(409, { description: 'Validation failed', errors });
    if (errors.length > 0) throw invalid(errors);
    const contact: FdContact = {
      id: ids.contact++,
      name: String(b.name),
      email,
      phone: typeof b.phone === 'string' ? b.phone : null,
      mobile: typeof b.mobile === 'string' ? b.mobile : null,
      unique_external_id: external,
    };
    contacts.push(contact);
    return { status: 201, body: contact };
  }

  function createTicket(b: Json): Answer {
    const errors: FieldError[] = [];
    validateTicketFields(b, errors, true);
    let requester: FdContact | undefined;
    const requesterId = num(b.requester_id);
    if (requesterId !== undefined) {
      requester = contacts.find((c) => c.id === requesterId);
      if (!requester) errors.push({ field: 'requester_id', message: 'There is no contact matching the given requester_id', code: 'invalid_value' });
    } else if (typeof b.email === 'string') {
      requester = contacts.find((c) => c.email === String(b.email).toLowerCase()) ?? (createContact({ name: b.name ?? b.email, email: b.email }).body as FdContact);
    } else {
      errors.push({ field: 'requester_id', message: 'Please fill at least 1 of requester_id, phone, email, twitter_id, facebook_id, unique_external_id fields', code: 'missing_field' });
    }
    if (errors.length > 0) throw invalid(errors);
    const at = now();
    const description = String(b.description);
    const ticket: FdTicket = {
      id: ids.ticket++,
      subject: String(b.subject),
      description,
      description_text: htmlToText(description),
      requester_id: requester!.id,
      status: num(b.status) ?? 2,
      priority: num(b.priority) ?? 1,
      source: num(b.source) ?? 2,
      type: typeof b.type === 'string' ? b.type : null,
      group_id: num(b.group_id) ?? null,
      tags: Array.isArray(b.tags) ? [...new Set(b.tags.map(String))] : [],
      custom_fields: isObject(b.custom_fields) ? { ...b.custom_fields } : {},
      attachments: storeFiles(b.attachments),
      deleted: false,
      conversations: [],
      created_at: at,
      updated_at: at,
    };
    tickets.push(ticket);
    return { status: 201, body: ticketJson(ticket) };
  }

  function updateTicket(id: number, b: Json): Answer {
    const ticket = ticketById(id);
    const errors: FieldError[] = [];
    validateTicketFields(b, errors, false);
    if (errors.length > 0) throw invalid(errors);
    if (b.priority !== undefined) ticket.priority = num(b.priority)!;
    if (b.status !== undefined) ticket.status = num(b.status)!;
    if (Array.isArray(b.tags)) ticket.tags = [...new Set(b.tags.map(String))];
    if (b.type !== undefined) ticket.type = b.type === null ? null : String(b.type);
    if (b.group_id !== undefined) ticket.group_id = num(b.group_id) ?? null;
    if (isObject(b.custom_fields)) Object.assign(ticket.custom_fields, b.custom_fields);
    ticket.updated_at = now();
    return { status: 200, body: ticketJson(ticket) };
  }

  function addNote(id: number, b: Json): Answer {
    const ticket = ticketById(id);
    const errors: FieldError[] = [];
    for (const key of Object.keys(b)) {
      if (!['body', 'private', 'incoming', 'user_id', 'notify_emails', 'attachments'].includes(key)) errors.push({ field: key, message: 'Unexpected/invalid field in request', code: 'invalid_field' });
    }
    if (typeof b.body !== 'string' || !b.body.trim()) errors.push({ field: 'body', message: 'It should be a/an String', code: 'missing_field' });
    const userId = num(b.user_id);
    if (b.user_id !== undefined && (userId === undefined || (userId !== agent.id && !contacts.some((c) => c.id === userId)))) {
      errors.push({ field: 'user_id', message: 'There is no contact or agent matching the given user_id', code: 'invalid_value' });
    }
    if (errors.length > 0) throw invalid(errors);
    const body = String(b.body);
    const conversation: FdConversation = {
      id: ids.conversation++,
      ticket_id: ticket.id,
      body,
      body_text: htmlToText(body),
      incoming: bool(b.incoming, false),
      private: bool(b.private, true),
      source: 2,
      user_id: userId ?? agent.id,
      attachments: storeFiles(b.attachments),
      created_at: now(),
    };
    ticket.conversations.push(conversation);
    ticket.updated_at = now();
    return { status: 201, body: conversationJson(conversation) };
  }

  function addRating(ticket: FdTicket, body: Json): Answer {
    const given = isObject(body.ratings) ? body.ratings : undefined;
    const value = given?.default_question;
    if (typeof value !== 'number' || !RATING_VALUES.includes(value)) {
      throw invalid([{ field: 'default_question', message: `It should be one of these values: '${RATING_VALUES.join(',')}'`, code: 'invalid_value' }]);
    }
    const rating: FdRating = { id: ids.rating++, ticket_id: ticket.id, ratings: { default_question: value }, feedback: typeof body.feedback === 'string' ? body.feedback : null, created_at: now() };
    ratings.push(rating);
    return { status: 201, body: { ...rating, survey_id: 1, user_id: ticket.requester_id, agent_id: agent.id } };
  }

  function route(method: string, path: string, query: URLSearchParams, body: Json | undefined): Answer {
    let m: RegExpMatchArray | null;
    if (method === 'GET' && path === '/api/v2/agents/me') {
      return { status: 200, body: { id: agent.id, contact: { name: 'Switchboard API', email: 'api@example.com' } } };
    }
    if (method === 'GET' && path === '/api/v2/contacts') {
      const email = query.get('email')?.toLowerCase();
      const found = contacts.filter((c) =>
        (email === undefined || c.email === email) &&
        (query.get('phone') === null || c.phone === query.get('phone')) &&
        (query.get('mobile') === null || c.mobile === query.get('mobile')) &&
        (query.get('unique_external_id') === null || c.unique_external_id === query.get('unique_external_id')));
      return { status: 200, body: found };
    }
    if (method === 'POST' && path === '/api/v2/contacts') return createContact(body ?? {});
    const contactPath = /^\/api\/v2\/contacts\/(\d+)$/.exec(path);
    if (contactPath && (method === 'GET' || method === 'PUT')) {
      const contact = contacts.find((c) => c.id === Number(contactPath[1]));
      if (!contact) throw new FdError(404, { code: 'access_denied', message: 'not found' });
      if (method === 'PUT') {
        const b = body ?? {};
        const dup = (field: string, taken: FdContact | undefined) => {
          if (taken && taken.id !== contact.id) throw new FdError(409, { description: 'Validation failed', errors: [{ field, message: 'It should be a unique value', code: 'duplicate_value', additional_info: { user_id: taken.id } }] });
        };
        if (typeof b.unique_external_id === 'string') {
          dup('unique_external_id', contacts.find((c) => c.unique_external_id === b.unique_external_id));
          contact.unique_external_id = b.unique_external_id;
        }
        if (Array.isArray(b.other_emails)) {
          for (const e of b.other_emails) dup('other_emails', contacts.find((c) => c.email === String(e).toLowerCase() || c.other_emails?.includes(String(e).toLowerCase())));
          contact.other_emails = b.other_emails.map((e) => String(e).toLowerCase());
        }
        for (const f of ['phone', 'mobile'] as const) if (typeof b[f] === 'string') contact[f] = b[f];
      }
      return { status: 200, body: contact };
    }
    if (method === 'GET' && path === '/api/v2/ticket_fields') {
      const fields = [
        { id: 1, name: 'ticket_type', label: 'Type', type: 'default_ticket_type', choices: ticketTypes },
        ...[...customFields].map((name, i) => ({ id: 100 + i, name, label: name.replace(/^cf_/, ''), type: 'custom_text' })),
      ];
      const type = query.get('type');
      return { status: 200, body: type ? fields.filter((f) => f.type === type) : fields };
    }
    if (path === '/api/v2/tickets') {
      if (method === 'POST') return createTicket(body ?? {});
      if (method === 'GET') {
        // List tickets: the last 30 days unless `updated_since`; `include=description` adds the
        // first message; `page`/`per_page` with a `Link: rel="next"` while more are left.
        const requesterId = num(query.get('requester_id') ?? undefined);
        const perPage = Math.min(100, num(query.get('per_page') ?? undefined) ?? 30);
        const page = Math.max(1, num(query.get('page') ?? undefined) ?? 1);
        const since = query.get('updated_since');
        const sinceMs = since === null ? Date.now() - 30 * 86_400_000 : Date.parse(since);
        if (Number.isNaN(sinceMs)) return { status: 400, body: { description: 'Validation failed', errors: [{ field: 'updated_since', message: 'It should be in the \'valid date\' format', code: 'invalid_value' }] } };
        const asc = query.get('order_type') === 'asc';
        const list = tickets
          .filter((t) => !t.deleted && !purged.has(t.id) && (requesterId === undefined || t.requester_id === requesterId) && Date.parse(t.updated_at) >= sinceMs)
          .sort((a, b) => (asc ? a.id - b.id : b.id - a.id));
        const slice = list.slice((page - 1) * perPage, page * perPage);
        const headers: Record<string, string> = {};
        if (page * perPage < list.length) headers.link = `<${url}${path}?${new URLSearchParams({ ...Object.fromEntries(query), page: String(page + 1) })}>; rel="next"`;
        return { status: 200, body: slice.map((t) => ticketJson(t, query.get('include') === 'description')), headers };
      }
    }
    if ((m = path.match(/^\/api\/v2\/tickets\/(\d+)$/))) {
      if (method === 'GET') return { status: 200, body: ticketJson(ticketById(Number(m[1]))) };
      if (method === 'PUT') return updateTicket(Number(m[1]), body ?? {});
    }
    if (method === 'POST' && (m = path.match(/^\/api\/v2\/tickets\/(\d+)\/notes$/))) return addNote(Number(m[1]), body ?? {});
    if ((m = path.match(/^\/api\/v2\/tickets\/(\d+)\/satisfaction_ratings$/))) {
      const ticket = ticketById(Number(m[1]));
      if (method === 'GET') return { status: 200, body: ratings.filter((r) => r.ticket_id === ticket.id) };
      if (method === 'POST') return addRating(ticket, body ?? {});
    }
    if (method === 'GET' && (m = path.match(/^\/api\/v2\/tickets\/(\d+)\/conversations$/))) {
      const ticket = ticketById(Number(m[1]));
      const page = Math.max(1, num(query.get('page') ?? undefined) ?? 1);
      const perPage = Math.min(100, num(query.get('per_page') ?? undefined) ?? 30);
      const slice = ticket.conversations.slice((page - 1) * perPage, page * perPage);
      const headers: Record<string, string> = {};
      if (page * perPage < ticket.conversations.length) {
        headers.link = `<${url}${path}?page=${page + 1}&per_page=${perPage}>; rel="next"`;
      }
      return { status: 200, body: slice.map(conversationJson), headers };
    }
    throw notFound();
  }

  function send(res: ServerResponse, answer: Answer, extra: Record<string, string> = {}): void {
    if (res.destroyed) return;
    const headers: Record<string, string> = { ...extra, ...answer.headers };
    let payload = '';
    if (typeof answer.body === 'string') payload = answer.body;
    else if (answer.body !== undefined) {
      payload = JSON.stringify(answer.body);
      headers['content-type'] ??= 'application/json; charset=utf-8';
    }
    res.writeHead(answer.status, headers).end(payload);
  }

  /** The rate window: counts this request, or answers 429 when the window is spent. */
  function meter(): { limited: Answer | undefined; headers: Record<string, string> } {
    if (!opts.rateLimit) return { limited: undefined, headers: {} };
    const t = Date.now();
    const index = Math.floor(t / windowMs);
    if (index !== window.index) window = { index, used: 0 };
    const total = opts.rateLimit.perWindow;
    const reported = String(opts.rateLimit.reportedTotal ?? total);
    const stats = rate.windows.get(index * windowMs) ?? { accepted: 0, limited: 0, other: 0 };
    rate.windows.set(index * windowMs, stats);
    if (window.used >= total) {
      rate.limited++;
      stats.limited++;
      const retryAfter = Math.max(1, Math.ceil(((index + 1) * windowMs - t) / 1000));
      return {
        limited: { status: 429, body: { message: 'You have exceeded the limit of requests per minute' }, headers: { 'retry-after': String(retryAfter) } },
        headers: { 'x-ratelimit-total': reported, 'x-ratelimit-remaining': '0', 'x-ratelimit-used-currentrequest': '1' },
      };
    }
    window.used++;
    rate.accepted++;
    stats.accepted++;
    return { limited: undefined, headers: { 'x-ratelimit-total': reported, 'x-ratelimit-remaining': String(total - window.used), 'x-ratelimit-used-currentrequest': '1' } };
  }

  async function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    const method = req.method ?? 'GET';
    const full = new URL(req.url ?? '/', 'http://fake');
    const path = full.pathname.replace(/\/+$/, '') || '/';
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
    const record: FdRequest = { method, path: full.pathname + full.search, headers, body: undefined };
    requests.push(record);
    if (req.headers.authorization !== basic) {
      send(res, { status: 401, body: { code: 'invalid_credentials', message: 'You have to be logged in to perform this action.' } });
      return;
    }
    const metered = meter();
    if (metered.limited) {
      send(res, metered.limited, metered.headers);
      return;
    }
    let body: Json | undefined;
    try {
      body = await readBody(req, raw);
    } catch (err) {
      send(res, err instanceof FdError ? err.answer : { status: 400, body: { description: 'Validation failed', errors: [{ field: 'body', message: String(err), code: 'invalid_json' }] } }, metered.headers);
      return;
    }
    record.body = body && Object.fromEntries(Object.entries(body).map(([k, v]) => [k, Array.isArray(v) ? v.map((x) => (isObject(x) && Buffer.isBuffer(x.data) ? { name: x.name, type: x.content_type, size: x.data.length } : x)) : v]));
    const compute = (): Answer => {
      try {
        return route(method, path, full.searchParams, body);
      } catch (err) {
        if (err instanceof FdError) return err.answer;
        throw err;
      }
    };
    const failure = method === 'POST' || method === 'PUT' ? failures[0] : undefined;
    if (failure) {
      failure.left -= 1;
      if (failure.left <= 0) failures.shift();
      const f = failure.failure;
      if (f.applyFirst) compute();
      if (f.delayMs) await new Promise((r) => setTimeout(r, f.delayMs));
      const json = f.body === undefined || /^\s*[{[]/.test(f.body);
      send(res, { status: f.status, body: f.body ?? { description: `simulated ${f.status}` }, headers: { 'content-type': json ? 'application/json' : 'text/plain', ...f.headers } }, metered.headers);
      return;
    }
    send(res, compute(), metered.headers);
  }

  const listen = (server: Server) => new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
  const collect = (handler: (req: IncomingMessage, res: ServerResponse, raw: Buffer) => Promise<void>) =>
    createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void handler(req, res, Buffer.concat(chunks)).catch((err: unknown) => send(res, { status: 500, body: { description: String(err) } }));
      });
    });

  const api = collect(handle);
  // The attachment host: like a presigned S3 link, it refuses a second credential.
  const files = collect(async (req, res) => {
    const m = new URL(req.url ?? '/', 'http://fake').pathname.match(/\/attachments\/production\/(\d+)\//);
    const found = m ? attachments.get(Number(m[1])) : undefined;
    if (req.headers.authorization) {
      res.writeHead(400, { 'content-type': 'application/xml' }).end('<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>');
    } else if (!found) {
      res.writeHead(404, { 'content-type': 'application/xml' }).end('<Error><Code>NoSuchKey</Code></Error>');
    } else {
      res.writeHead(200, { 'content-type': found.content_type, 'content-length': String(found.size) }).end(found.data);
    }
  });
  url = await listen(api);
  filesUrl = await listen(files);

  return {
    url,
    tickets,
    ratings,
    contacts,
    requests,
    rate,
    failNext(n, failure) {
      if (n > 0) failures.push({ left: n, failure });
    },
    consume(n) {
      const index = Math.floor(Date.now() / windowMs);
      if (index !== window.index) window = { index, used: 0 };
      // Like any client, the other app gets only what is left of the window.
      const spent = Math.max(0, Math.min(n, (opts.rateLimit?.perWindow ?? Infinity) - window.used));
      window.used += spent;
      const stats = rate.windows.get(index * windowMs) ?? { accepted: 0, limited: 0, other: 0 };
      stats.other += spent;
      rate.windows.set(index * windowMs, stats);
    },
    addAgentReply(ticketId, body, o = {}) {
      const ticket = ticketById(ticketId);
      const conversation: FdConversation = {
        id: ids.conversation++,
        ticket_id: ticket.id,
        body: `<div>${body}</div>`,
        // Freshdesk's body_text is the HTML without its markup (link targets gone).
        body_text: body.replace(/<[^>]+>/g, ''),
        incoming: false,
        private: o.private ?? false,
        source: o.private ? 2 : 0,
        user_id: agent.id,
        attachments: storeFiles(o.attachments?.map((a) => ({ ...a }))),
        created_at: now(),
      };
      ticket.conversations.push(conversation);
      return conversation;
    },
    setStatus(ticketId, status) {
      ticketById(ticketId).status = status;
    },
    retag(ticketId, tags) {
      const t = ticketById(ticketId);
      t.tags = [...new Set(tags)];
      t.updated_at = now();
    },
    seedTicket(t) {
      const at = t.createdAt ?? now();
      const ticket: FdTicket = {
        id: ids.ticket++, subject: t.subject ?? 'Question', description: `<div>${t.description}</div>`, description_text: t.description,
        requester_id: 0, status: 4, priority: 1, source: 2, type: null, group_id: null, tags: [...new Set(t.tags)], custom_fields: {},
        attachments: [], deleted: false, conversations: [], created_at: at, updated_at: at,
      };
      tickets.push(ticket);
      return ticket;
    },
    deleteTicket(ticketId, o = {}) {
      const ticket = ticketById(ticketId);
      ticket.deleted = true;
      if (o.permanently) purged.add(ticketId);
    },
    reset() {
      for (const list of [tickets, ratings, contacts, requests, failures]) list.length = 0;
      purged.clear();
      attachments.clear();
      rate.accepted = 0;
      rate.limited = 0;
      rate.windows.clear();
      window = { index: -1, used: 0 };
    },
    async close() {
      for (const server of [api, files]) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}
