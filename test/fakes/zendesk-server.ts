import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Hold } from './hold.ts';

/**
 * A fake Zendesk Support API on 127.0.0.1, answering in Zendesk's documented shapes: Basic (or
 * Bearer) auth, users/create_or_update, tickets with Idempotency-Key, updates with comments,
 * tags and audit metadata, uploads and attachment downloads, paginated comments and audits,
 * and Zendesk's error bodies (401, 404 RecordNotFound, 422 RecordInvalid with `details`).
 * State is plain arrays so tests can read (and reset) it directly.
 */

export interface FakeUpload {
  file_name: string;
  content_type: string;
  size: number;
  data: Buffer;
}

export interface FakeComment {
  id: number;
  body: string;
  html_body: string;
  public: boolean;
  author_id: number;
  uploads: FakeUpload[];
  created_at: string;
}

export interface FakeTicket {
  id: number;
  subject: string | null;
  requester_id: number;
  submitter_id: number;
  priority: string | null;
  type: string | null;
  status: string;
  group_id: number | null;
  tags: string[];
  custom_fields: { id: number | string; value: unknown }[];
  external_id: string | null;
  via_followup_source_id: number | null;
  comments: FakeComment[];
  /** The requester's satisfaction rating (legacy CSAT), once given. */
  satisfaction_rating?: { score: 'good' | 'bad'; comment: string | null; by: number };
}

export interface FakeUser {
  id: number;
  name: string;
  email: string | null;
  external_id: string | null;
  phone: string | null;
  role: 'end-user' | 'agent' | 'admin';
  locale?: string | null;
}

export interface FakeAudit {
  id: number;
  ticket_id: number;
  author_id: number;
  created_at: string;
  metadata: { system: Record<string, unknown>; custom: Record<string, unknown> };
  events: Record<string, unknown>[];
}

export interface FakeRequest {
  method: string;
  /** Path and query string, e.g. `/api/v2/uploads?filename=a.jpg`. */
  path: string;
  headers: Record<string, string>;
  /** Parsed JSON, raw bytes for uploads, undefined without a body. */
  body: unknown;
}

export interface FailureResponse {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  delayMs?: number;
  /** Perform the write, then answer with the failure: the answer is lost, the write is not. */
  applyFirst?: boolean;
  /** Perform the write and answer normally, only after `delayMs` (a slow Zendesk). */
  passThrough?: boolean;
}

export interface FakeZendesk {
  /** http://127.0.0.1:PORT — the helpdesk's `baseUrl`. */
  url: string;
  tickets: FakeTicket[];
  users: FakeUser[];
  /** A user's identities (email, phone_number) as Zendesk lists them: the user's email and phone, and those added. */
  identitiesOf(userId: number): { type: string; value: string }[];
  audits: FakeAudit[];
  /** Every request, in order, failed ones included. */
  requests: FakeRequest[];
  /** The next `n` write requests (POST/PUT) fail with `response`; calls queue up in order. */
  failNext(n: number, response: FailureResponse): void;
  /** Write requests (POST/PUT) hang from now until `release()` (a helpdesk that stopped answering); `held()`: how many hang now. */
  holdWrites(): { held(): number; release(): void };
  addAgentComment(
    ticketId: number,
    body: string,
    opts?: { attachments?: { file_name: string; content_type: string; data: Buffer }[]; public?: boolean },
  ): { commentId: number };
  closeTicket(ticketId: number): void;
  /** An agent solves the ticket. */
  solveTicket(ticketId: number): void;
  /** An agent re-files the ticket: its tags become `tags` (what `rules eval` reads back). */
  retag(ticketId: number, tags: string[]): void;
  /** A ticket agents already handled (history to train on): the customer's words and the final tags. */
  seedTicket(t: { subject?: string; description: string; tags: string[]; createdAt?: string; status?: string }): FakeTicket;
  /** Tickets per page of the incremental export (Zendesk's is 1,000); the next `rateLimitExports` export requests answer 429. */
  exportPageSize: number;
  rateLimitExports: number;
  /** Deletes the ticket: reads and updates answer 404 RecordNotFound. */
  deleteTicket(ticketId: number): void;
  signWebhook(
    body: string,
    secret: string,
    timestamp?: string,
  ): { 'x-zendesk-webhook-signature': string; 'x-zendesk-webhook-signature-timestamp': string };
  /** Forgets what the last test left (tickets, users, requests, failures); ids keep counting up. */
  reset(): void;
  close(): Promise<void>;
}

const PRIORITIES = ['urgent', 'high', 'normal', 'low'];
const TYPES = ['problem', 'incident', 'question', 'task'];
const STATUSES = ['new', 'open', 'pending', 'hold', 'solved', 'closed'];
const PAGE_SIZE = 100;

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

class ZdError extends Error {
  readonly answer: Answer;
  constructor(status: number, body: unknown) {
    super(JSON.stringify(body));
    this.answer = { status, body };
  }
}

const notFound = () => new ZdError(404, { error: 'RecordNotFound', description: 'Not found' });
const invalid = (details: Record<string, string>) =>
  new ZdError(422, {
    error: 'RecordInvalid',
    description: 'Record validation errors',
    details: Object.fromEntries(
      Object.entries(details).map(([field, description]) => [field, [{ description, error: 'InvalidValue' }]]),
    ),
  });
const badRequest = (error: string, description: string) => new ZdError(400, { error, description });

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const asNumber = (v: unknown): number | undefined => {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return undefined;
};
const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Stable JSON for comparing request bodies under one Idempotency-Key. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObject(v)) {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Zendesk tags are words: a value with spaces becomes several tags, all lowercase. */
function normalizeTags(v: unknown): string[] {
  const list = Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
  return list.flatMap((t) => String(t).toLowerCase().split(/\s+/)).filter(Boolean);
}

export async function startFakeZendesk(
  /** `impersonationToken`: an OAuth token with the impersonate scope (X-On-Behalf-Of makes requests as an end user). */
  opts: { email?: string; apiToken?: string; oauthToken?: string; impersonationToken?: string } = {},
): Promise<FakeZendesk> {
  const email = opts.email ?? 'api@example.com';
  const apiToken = opts.apiToken ?? 'fake-zendesk-token';
  const basic = `Basic ${Buffer.from(`${email}/token:${apiToken}`).toString('base64')}`;
  const bearer = opts.oauthToken ? `Bearer ${opts.oauthToken}` : undefined;
  const impersonator = opts.impersonationToken ? `Bearer ${opts.impersonationToken}` : undefined;

  const tickets: FakeTicket[] = [];
  const users: FakeUser[] = [];
  const audits: FakeAudit[] = [];
  const requests: FakeRequest[] = [];
  const failures: { left: number; response: FailureResponse }[] = [];
  const deleted = new Set<number>();
  const uploads = new Map<string, { files: FakeUpload[]; attachmentIds: number[] }>();
  const attachments = new Map<number, FakeUpload & { token: string }>();
  const commentAttachmentIds = new Map<FakeComment, number[]>();
  const commentAudit = new Map<FakeComment, number>();
  const idempotency = new Map<string, { fingerprint: string; answer: Answer }>();
  const me: FakeUser = { id: 1000, name: 'Switchboard API', email, external_id: null, phone: null, role: 'admin' };
  const ids = { user: 1001, ticket: 1, comment: 5001, audit: 9001, attachment: 7001 };
  let url = '';

  const userById = (id: number): FakeUser | undefined => (id === me.id ? me : users.find((u) => u.id === id));
  const agent = (): FakeUser => {
    const existing = users.find((u) => u.role === 'agent');
    if (existing) return existing;
    const created: FakeUser = { id: ids.user++, name: 'Alice Agent', email: 'alice.agent@example.com', external_id: null, phone: null, role: 'agent' };
    users.push(created);
    return created;
  };
  const ticketById = (id: number): FakeTicket => {
    const ticket = tickets.find((t) => t.id === id);
    if (!ticket || deleted.has(id)) throw notFound();
    return ticket;
  };

  function attachmentJson(id: number) {
    const a = attachments.get(id)!;
    const contentUrl = `${url}/attachments/token/${a.token}/?name=${encodeURIComponent(a.file_name)}`;
    return { id, file_name: a.file_name, content_url: contentUrl, mapped_content_url: contentUrl, content_type: a.content_type, size: a.size };
  }

  function storeAttachment(file: FakeUpload): number {
    const id = ids.attachment++;
    attachments.set(id, { ...file, token: randomBytes(12).toString('hex') });
    return id;
  }

  function ticketJson(t: FakeTicket) {
    return {
      id: t.id,
      url: `${url}/api/v2/tickets/${t.id}.json`,
      external_id: t.external_id,
      via: { channel: 'api' },
      created_at: t.comments[0]?.created_at ?? now(),
      updated_at: now(),
      type: t.type,
      subject: t.subject,
      raw_subject: t.subject,
      description: t.comments[0]?.body ?? '',
      priority: t.priority,
      status: t.status,
      requester_id: t.requester_id,
      submitter_id: t.submitter_id,
      assignee_id: null,
      group_id: t.group_id,
      tags: t.tags,
      custom_fields: t.custom_fields,
      via_followup_source_id: t.via_followup_source_id,
    };
  }

  function commentJson(c: FakeComment, auditId: number | undefined) {
    return {
      id: c.id,
      type: 'Comment',
      author_id: c.author_id,
      body: c.body,
      html_body: c.html_body,
      plain_body: c.body,
      public: c.public,
      attachments: (commentAttachmentIds.get(c) ?? []).map(attachmentJson),
      audit_id: auditId,
      via: { channel: 'api' },
      created_at: c.created_at,
    };
  }

  function userJson(u: FakeUser) {
    return { id: u.id, name: u.name, email: u.email, external_id: u.external_id, phone: u.phone, role: u.role, locale: u.locale ?? 'en-US', verified: true };
  }

  /** Consumes upload tokens: their files move onto the comment. */
  function takeUploads(tokens: unknown): { files: FakeUpload[]; attachmentIds: number[] } {
    const files: FakeUpload[] = [];
    const attachmentIds: number[] = [];
    if (tokens === undefined) return { files, attachmentIds };
    if (!Array.isArray(tokens)) throw invalid({ uploads: 'Uploads: must be an array of upload tokens' });
    for (const token of tokens) {
      const upload = uploads.get(String(token));
      if (!upload) throw invalid({ uploads: `Uploads: token ${String(token)} is invalid or expired` });
      files.push(...upload.files);
      attachmentIds.push(...upload.attachmentIds);
      uploads.delete(String(token));
    }
    return { files, attachmentIds };
  }

  function addComment(ticket: FakeTicket, raw: Json, defaultAuthor: number, defaultPublic: boolean, auditId: number): FakeComment {
    const body = typeof raw.body === 'string' ? raw.body : typeof raw.html_body === 'string' ? raw.html_body.replace(/<[^>]+>/g, '') : '';
    const taken = takeUploads(raw.uploads);
    if (!body.trim() && taken.files.length === 0) throw invalid({ comment: 'Comment: cannot be blank' });
    const authorId = asNumber(raw.author_id) ?? defaultAuthor;
    if (!userById(authorId)) throw invalid({ author_id: 'Author: is invalid' });
    const comment: FakeComment = {
      id: ids.comment++,
      body,
      html_body: typeof raw.html_body === 'string' ? raw.html_body : `<div class="zd-comment"><p>${body}</p></div>`,
      public: typeof raw.public === 'boolean' ? raw.public : defaultPublic,
      author_id: authorId,
      uploads: taken.files,
      created_at: now(),
    };
    commentAttachmentIds.set(comment, taken.attachmentIds);
    commentAudit.set(comment, auditId);
    ticket.comments.push(comment);
    return comment;
  }

  function recordAudit(ticket: FakeTicket, authorId: number, metadata: unknown, events: Record<string, unknown>[], auditId: number): FakeAudit {
    const audit: FakeAudit = {
      id: auditId,
      ticket_id: ticket.id,
      author_id: authorId,
      created_at: now(),
      metadata: { system: { client: 'switchboard-fake', ip_address: '127.0.0.1' }, custom: isObject(metadata) ? metadata : {} },
      events,
    };
    audits.push(audit);
    return audit;
  }

  /** Field checks shared by create and update. */
  function validateFields(t: Json): void {
    const problems: Record<string, string> = {};
    if (t.priority != null && !PRIORITIES.includes(String(t.priority))) problems.priority = `Priority: ${String(t.priority)} is not a valid priority`;
    if (t.type != null && !TYPES.includes(String(t.type))) problems.type = `Type: ${String(t.type)} is not a valid type`;
    if (t.status != null && !STATUSES.includes(String(t.status))) problems.status = `Status: ${String(t.status)} is not a valid status`;
    if (t.group_id != null && asNumber(t.group_id) === undefined) problems.group_id = 'Group: is invalid';
    if (t.custom_fields !== undefined && (!Array.isArray(t.custom_fields) || !t.custom_fields.every((f) => isObject(f) && 'id' in f))) {
      problems.custom_fields = 'Custom fields: must be a list of {id, value}';
    }
    if (Object.keys(problems).length > 0) throw invalid(problems);
  }

  function createTicket(body: unknown): Answer {
    if (!isObject(body) || !isObject(body.ticket)) throw badRequest('InvalidEndpoint', 'ticket is required');
    const t = body.ticket;
    validateFields(t);
    if (!isObject(t.comment) && typeof t.description !== 'string') throw invalid({ description: 'Description: cannot be blank' });
    const requesterId = asNumber(t.requester_id) ?? me.id;
    if (!userById(requesterId)) throw invalid({ requester_id: 'Requester: is invalid' });
    const submitterId = asNumber(t.submitter_id) ?? me.id;
    if (!userById(submitterId)) throw invalid({ submitter_id: 'Submitter: is invalid' });
    let followUpOf: number | null = null;
    if (t.via_followup_source_id != null) {
      const source = tickets.find((x) => x.id === asNumber(t.via_followup_source_id));
      if (!source || source.status !== 'closed') throw invalid({ via_followup_source_id: 'Via followup source: is invalid (the ticket must be closed)' });
      followUpOf = source.id;
    }
    const ticket: FakeTicket = {
      id: ids.ticket++,
      subject: typeof t.subject === 'string' ? t.subject : null,
      requester_id: requesterId,
      submitter_id: submitterId,
      priority: typeof t.priority === 'string' ? t.priority : null,
      type: typeof t.type === 'string' ? t.type : null,
      status: typeof t.status === 'string' ? t.status : 'new',
      group_id: asNumber(t.group_id) ?? null,
      tags: [...new Set(normalizeTags(t.tags))],
      custom_fields: Array.isArray(t.custom_fields) ? (t.custom_fields as { id: number | string; value: unknown }[]) : [],
      external_id: typeof t.external_id === 'string' ? t.external_id : null,
      via_followup_source_id: followUpOf,
      comments: [],
    };
    const auditId = ids.audit++;
    // "The submitter always becomes the author of the first comment."
    const first = isObject(t.comment) ? t.comment : { body: t.description };
    const comment = addComment(ticket, { ...first, author_id: submitterId }, submitterId, true, auditId);
    tickets.push(ticket);
    const audit = recordAudit(ticket, submitterId, t.metadata, [
      { type: 'Comment', id: comment.id, public: comment.public, body: comment.body },
      { type: 'Create', field_name: 'status', value: ticket.status },
    ], auditId);
    return { status: 201, body: { ticket: ticketJson(ticket), audit }, headers: { location: `${url}/api/v2/tickets/${ticket.id}.json` } };
  }

  /**
   * Cursor-based incremental ticket export: every ticket updated at or after `start_time`
   * (Unix seconds), as it is now, oldest first; the cursor is opaque to the client.
   */
  function incrementalExport(query: URLSearchParams): Answer {
    if (fake.rateLimitExports > 0) {
      fake.rateLimitExports--;
      return { status: 429, body: { error: 'TooManyRequests', description: 'Rate limit for incremental exports exceeded' }, headers: { 'retry-after': '1' } };
    }
    const cursor = query.get('cursor');
    let offset = 0;
    let start = 0;
    if (cursor !== null) {
      const m = /^(\d+):(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString());
      if (!m) throw badRequest('InvalidCursor', 'cursor is invalid');
      start = Number(m[1]);
      offset = Number(m[2]);
    } else {
      const st = query.get('start_time');
      if (st === null || !/^\d+$/.test(st)) throw badRequest('InvalidPaginationParameter', 'start_time is required');
      start = Number(st);
      if (start > Date.now() / 1000 - 60) throw badRequest('InvalidPaginationParameter', 'Too recent start_time. Use a start_time older than 1 minute');
    }
    const list = tickets.filter((t) => Date.parse(updatedAt(t)) / 1000 >= start);
    const page = list.slice(offset, offset + fake.exportPageSize);
    const end = offset + page.length >= list.length;
    const after = Buffer.from(`${start}:${offset + page.length}`).toString('base64url');
    return {
      status: 200,
      body: {
        tickets: page.map((t) => ({ ...ticketJson(t), ...(deleted.has(t.id) ? { status: 'deleted' } : {}) })),
        after_url: end ? null : `${url}/api/v2/incremental/tickets/cursor.json?cursor=${after}`,
        after_cursor: end ? null : after,
        before_url: null,
        before_cursor: null,
        end_of_stream: end,
      },
    };
  }

  const updatedAt = (t: FakeTicket): string => t.comments.at(-1)?.created_at ?? now();

  function updateTicket(id: number, body: unknown): Answer {
    const ticket = ticketById(id);
    if (!isObject(body) || !isObject(body.ticket)) throw badRequest('InvalidEndpoint', 'ticket is required');
    const t = body.ticket;
    if (ticket.status === 'closed') throw invalid({ status: 'Status: closed prevents ticket update' });
    validateFields(t);
    const auditId = ids.audit++;
    const events: Record<string, unknown>[] = [];
    let author = me.id;
    if (isObject(t.comment)) {
      const comment = addComment(ticket, t.comment, me.id, true, auditId);
      author = comment.author_id;
      events.push({ type: 'Comment', id: comment.id, public: comment.public, body: comment.body });
      // A customer writing on a solved or pending ticket reopens it; an agent's answer opens a new one.
      const byRequester = comment.author_id === ticket.requester_id;
      if (byRequester && ['pending', 'solved', 'hold'].includes(ticket.status)) ticket.status = 'open';
      if (!byRequester && comment.public && ticket.status === 'new') ticket.status = 'open';
    }
    const change = (field: string, value: unknown) => events.push({ type: 'Change', field_name: field, value });
    if (t.tags !== undefined) {
      ticket.tags = [...new Set(normalizeTags(t.tags))];
      change('tags', ticket.tags);
    }
    if (t.additional_tags !== undefined) {
      ticket.tags = [...new Set([...ticket.tags, ...normalizeTags(t.additional_tags)])];
      change('tags', ticket.tags);
    }
    if (t.remove_tags !== undefined) {
      const drop = new Set(normalizeTags(t.remove_tags));
      ticket.tags = ticket.tags.filter((tag) => !drop.has(tag));
      change('tags', ticket.tags);
    }
    const text = (v: unknown): string | null => (v === null ? null : String(v));
    if (t.priority !== undefined) change('priority', (ticket.priority = text(t.priority)));
    if (t.type !== undefined) change('type', (ticket.type = text(t.type)));
    if (t.subject !== undefined) change('subject', (ticket.subject = text(t.subject)));
    if (typeof t.status === 'string') change('status', (ticket.status = t.status));
    if (t.group_id !== undefined) {
      ticket.group_id = asNumber(t.group_id) ?? null;
      change('group_id', ticket.group_id);
    }
    if (Array.isArray(t.custom_fields)) {
      for (const f of t.custom_fields as { id: number | string; value: unknown }[]) {
        const existing = ticket.custom_fields.find((x) => String(x.id) === String(f.id));
        if (existing) existing.value = f.value;
        else ticket.custom_fields.push({ id: f.id, value: f.value });
      }
      change('custom_fields', ticket.custom_fields);
    }
    const audit = recordAudit(ticket, author, t.metadata, events, auditId);
    return { status: 200, body: { ticket: ticketJson(ticket), audit } };
  }

  /** Identities added with POST /users/{id}/identities; a user's email and phone count as identities too. */
  const addedIdentities = new Map<number, { id: number; type: string; value: string }[]>();
  const sameValue = (type: string, a: string, b: string) => (type === 'phone_number' ? a.replace(/\D/g, '') === b.replace(/\D/g, '') : a.toLowerCase() === b.toLowerCase());
  function identitiesOf(u: FakeUser): { id: number; type: string; value: string }[] {
    const own = [...(u.email ? [{ id: u.id * 100 + 1, type: 'email', value: u.email }] : []), ...(u.phone ? [{ id: u.id * 100 + 2, type: 'phone_number', value: u.phone }] : [])];
    const added = (addedIdentities.get(u.id) ?? []).filter((a) => !own.some((o) => o.type === a.type && sameValue(a.type, o.value, a.value)));
    return [...own, ...added];
  }
  const userOf = (m: RegExpMatchArray): FakeUser => {
    const user = users.find((u) => u.id === Number(m[1]));
    if (!user) throw new ZdError(404, { error: 'RecordNotFound', description: 'Not found' });
    return user;
  };

  function userRoutes(method: string, path: string, query: URLSearchParams, json: unknown): Answer | undefined {
    let m: RegExpMatchArray | null;
    if (method === 'GET' && path === '/api/v2/users/search') {
      const ext = query.get('external_id');
      const q = query.get('query')?.trim();
      const found = users.filter((u) => u.role === 'end-user' && (ext ? u.external_id?.toLowerCase() === ext.toLowerCase()
        : q ? identitiesOf(u).some((i) => sameValue(i.type, i.value, q)) || u.name === q : false));
      return { status: 200, body: { users: found.map(userJson), next_page: null, count: found.length } };
    }
    if ((m = /^\/api\/v2\/users\/(\d+)$/.exec(path))) {
      const user = userOf(m);
      if (method === 'GET') return { status: 200, body: { user: userJson(user) } };
      if (method === 'PUT') {
        const u = isObject(json) && isObject(json.user) ? json.user : {};
        if (typeof u.external_id === 'string') {
          const taken = users.find((x) => x.id !== user.id && x.external_id?.toLowerCase() === String(u.external_id).toLowerCase());
          if (taken) throw invalid({ external_id: 'External has already been taken' });
          user.external_id = u.external_id;
        }
        return { status: 200, body: { user: userJson(user) } };
      }
    }
    if ((m = /^\/api\/v2\/users\/(\d+)\/identities$/.exec(path))) {
      const user = userOf(m);
      if (method === 'GET') return { status: 200, body: { identities: identitiesOf(user).map((i) => ({ ...i, user_id: user.id, verified: true })), next_page: null } };
      if (method === 'POST') {
        const i = isObject(json) && isObject(json.identity) ? json.identity : {};
        const type = String(i.type ?? '');
        const value = String(i.value ?? '');
        if (!['email', 'phone_number'].includes(type) || !value) throw invalid({ type: 'Type: is invalid' });
        const holder = users.find((u) => identitiesOf(u).some((x) => x.type === type && sameValue(type, x.value, value)));
        if (holder && holder.id !== user.id) throw invalid({ value: `Value: ${value} is already being used by another user` });
        const identity = { id: ids.user * 100 + addedIdentities.size + 50, type, value };
        if (!holder) addedIdentities.set(user.id, [...(addedIdentities.get(user.id) ?? []), identity]);
        return { status: 201, body: { identity: { ...identity, user_id: user.id, verified: true } } };
      }
    }
    return undefined;
  }

  function createOrUpdateUser(body: unknown): Answer {
    if (!isObject(body) || !isObject(body.user)) throw badRequest('InvalidEndpoint', 'user is required');
    const u = body.user;
    const mail = typeof u.email === 'string' ? u.email.trim() : undefined;
    const externalId = u.external_id != null ? String(u.external_id) : undefined;
    if (mail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(mail)) throw invalid({ email: `Email: ${mail} is not properly formatted` });
    const existing =
      (mail && users.find((x) => x.email?.toLowerCase() === mail.toLowerCase())) ||
      (externalId && users.find((x) => x.external_id?.toLowerCase() === externalId.toLowerCase())) ||
      undefined;
    const apply = (user: FakeUser) => {
      if (typeof u.name === 'string' && u.name.trim()) user.name = u.name;
      if (mail) user.email = mail;
      if (externalId) user.external_id = externalId;
      if (typeof u.phone === 'string') user.phone = u.phone;
      if (typeof u.locale === 'string') user.locale = u.locale;
      if (u.role === 'agent' || u.role === 'admin' || u.role === 'end-user') user.role = u.role;
    };
    if (existing) {
      apply(existing);
      return { status: 200, body: { user: userJson(existing) } };
    }
    if (typeof u.name !== 'string' || !u.name.trim()) throw invalid({ name: 'Name: is too short (minimum one character)' });
    const user: FakeUser = { id: ids.user++, name: u.name, email: null, external_id: null, phone: null, role: 'end-user' };
    apply(user);
    users.push(user);
    return { status: 201, body: { user: userJson(user) }, headers: { location: `${url}/api/v2/users/${user.id}.json` } };
  }

  function upload(query: URLSearchParams, data: Buffer, contentType: string | undefined): Answer {
    const filename = query.get('filename');
    if (!filename) throw badRequest('InvalidEndpoint', 'filename is required');
    const given = query.get('token');
    if (given && !uploads.has(given)) throw invalid({ token: 'Token: is invalid or expired' });
    const token = given ?? randomBytes(12).toString('hex');
    const entry = uploads.get(token) ?? { files: [], attachmentIds: [] };
    const file: FakeUpload = { file_name: filename, content_type: contentType ?? 'application/binary', size: data.length, data };
    const attachmentId = storeAttachment(file);
    entry.files.push(file);
    entry.attachmentIds.push(attachmentId);
    uploads.set(token, entry);
    const expires = new Date(Date.now() + 60 * 60_000).toISOString();
    return {
      status: 201,
      body: { upload: { token, expires_at: expires, attachments: entry.attachmentIds.map(attachmentJson), attachment: attachmentJson(attachmentId) } },
    };
  }

  function page<T>(items: T[], query: URLSearchParams, path: string): { page: T[]; next_page: string | null; previous_page: string | null; count: number } {
    const n = Math.max(1, Number(query.get('page') ?? '1') || 1);
    const slice = items.slice((n - 1) * PAGE_SIZE, n * PAGE_SIZE);
    const link = (p: number) => {
      const q = new URLSearchParams(query);
      q.set('page', String(p));
      return `${url}${path}.json?${q.toString()}`;
    };
    return {
      page: slice,
      next_page: n * PAGE_SIZE < items.length ? link(n + 1) : null,
      previous_page: n > 1 ? link(n - 1) : null,
      count: items.length,
    };
  }

  /** The end user an impersonating request acts as (X-On-Behalf-Of: id or email), if it is one. */
  function actingAs(req: IncomingMessage): FakeUser | undefined {
    if (impersonator === undefined || req.headers.authorization !== impersonator) return undefined;
    const who = String(req.headers['x-on-behalf-of'] ?? '');
    const user = users.find((u) => String(u.id) === who || (u.email !== null && u.email.toLowerCase() === who.toLowerCase()));
    return user?.role === 'end-user' ? user : undefined;
  }

  /** Legacy CSAT: only the requester may rate, and only a solved ticket (or one solved before). */
  function rateTicket(id: number, req: IncomingMessage, body: unknown): Answer {
    const ticket = ticketById(id);
    const user = actingAs(req);
    if (!user || user.id !== ticket.requester_id) throw new ZdError(403, { error: 'Forbidden', description: 'You do not have access to this page. Please contact the account owner of this help desk for further help.' });
    if (ticket.status !== 'solved') throw invalid({ base: 'Ticket: satisfaction ratings can only be given to solved tickets' });
    const rating = isObject(body) && isObject(body.satisfaction_rating) ? body.satisfaction_rating : undefined;
    if (rating?.score !== 'good' && rating?.score !== 'bad') throw invalid({ score: 'Score: is not included in the list' });
    ticket.satisfaction_rating = { score: rating.score, comment: typeof rating.comment === 'string' ? rating.comment : null, by: user.id };
    return { status: 200, body: { satisfaction_rating: { id: ticket.id * 10, ticket_id: ticket.id, requester_id: user.id, score: rating.score, comment: ticket.satisfaction_rating.comment } } };
  }

  function route(method: string, path: string, query: URLSearchParams, req: IncomingMessage, raw: Buffer, json: unknown): Answer {
    let m: RegExpMatchArray | null;
    if (method === 'POST' && (m = path.match(/^\/api\/v2\/tickets\/(\d+)\/satisfaction_rating$/))) return rateTicket(Number(m[1]), req, json);
    // An impersonating token reaches only what its end user may (here: rating their ticket).
    if (impersonator !== undefined && req.headers.authorization === impersonator) throw new ZdError(403, { error: 'Forbidden', description: 'You do not have access to this page.' });
    if (method === 'GET' && path === '/api/v2/users/me') return { status: 200, body: { user: userJson(me) } };
    if (method === 'POST' && path === '/api/v2/users/create_or_update') return createOrUpdateUser(json);
    const userAnswer = path.startsWith('/api/v2/users/') ? userRoutes(method, path, query, json) : undefined;
    if (userAnswer) return userAnswer;
    if (method === 'POST' && path === '/api/v2/uploads') return upload(query, raw, req.headers['content-type']);
    if (method === 'POST' && path === '/api/v2/tickets') {
      const key = req.headers['idempotency-key'];
      if (typeof key !== 'string') return createTicket(json);
      const fingerprint = canonical(json);
      const seen = idempotency.get(key);
      if (seen) {
        if (seen.fingerprint !== fingerprint) {
          throw badRequest('IdempotentRequestError', 'The request body does not match the original request made with this Idempotency-Key');
        }
        return { ...seen.answer, headers: { ...seen.answer.headers, 'x-idempotency-lookup': 'hit' } };
      }
      const answer = createTicket(json);
      idempotency.set(key, { fingerprint, answer });
      return { ...answer, headers: { ...answer.headers, 'x-idempotency-lookup': 'miss' } };
    }
    if (method === 'GET' && path === '/api/v2/incremental/tickets/cursor') return incrementalExport(query);
    if (method === 'GET' && path === '/api/v2/tickets') {
      const externalId = query.get('external_id');
      const list = tickets.filter((t) => !deleted.has(t.id) && (externalId === null || t.external_id === externalId));
      const p = page(list, query, path);
      return { status: 200, body: { tickets: p.page.map(ticketJson), next_page: p.next_page, previous_page: p.previous_page, count: p.count } };
    }
    if ((m = path.match(/^\/api\/v2\/tickets\/(\d+)$/))) {
      const id = Number(m[1]);
      if (method === 'GET') return { status: 200, body: { ticket: ticketJson(ticketById(id)) } };
      if (method === 'PUT') return updateTicket(id, json);
    }
    if (method === 'GET' && (m = path.match(/^\/api\/v2\/tickets\/(\d+)\/comments$/))) {
      const ticket = ticketById(Number(m[1]));
      const p = page(ticket.comments, query, path);
      const body: Json = {
        comments: p.page.map((c) => commentJson(c, commentAudit.get(c))),
        next_page: p.next_page,
        previous_page: p.previous_page,
        count: p.count,
      };
      if ((query.get('include') ?? '').split(',').includes('users')) {
        const authors = [...new Set(p.page.map((c) => c.author_id))];
        body.users = authors.map(userById).filter((u): u is FakeUser => u !== undefined).map(userJson);
      }
      return { status: 200, body };
    }
    if (method === 'GET' && (m = path.match(/^\/api\/v2\/tickets\/(\d+)\/audits$/))) {
      const ticket = ticketById(Number(m[1]));
      const p = page(audits.filter((a) => a.ticket_id === ticket.id), query, path);
      return { status: 200, body: { audits: p.page, next_page: p.next_page, previous_page: p.previous_page, count: p.count } };
    }
    throw new ZdError(404, { error: 'InvalidEndpoint', description: `Not found: ${method} ${path}` });
  }

  function serveAttachment(path: string, res: ServerResponse): boolean {
    const m = path.match(/^\/attachments\/token\/([^/]+)\/?$/);
    if (!m) return false;
    const found = [...attachments.values()].find((a) => a.token === m[1]);
    if (!found) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
      return true;
    }
    res.writeHead(200, {
      'content-type': found.content_type,
      'content-length': String(found.data.length),
      'content-disposition': `attachment; filename="${found.file_name.replace(/"/g, '')}"`,
    }).end(found.data);
    return true;
  }

  function send(res: ServerResponse, answer: Answer): void {
    if (res.destroyed) return;
    const headers: Record<string, string> = { ...answer.headers };
    let payload: string | Buffer = '';
    if (Buffer.isBuffer(answer.body) || typeof answer.body === 'string') payload = answer.body;
    else if (answer.body !== undefined) {
      payload = JSON.stringify(answer.body);
      headers['content-type'] ??= 'application/json; charset=utf-8';
    }
    res.writeHead(answer.status, headers).end(payload);
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void handle(req, res, Buffer.concat(chunks)).catch((err: unknown) => {
        send(res, { status: 500, body: { error: 'InternalError', description: String(err) } });
      });
    });
  });

  /** Writes wait on this while held (holdWrites). */
  const gate = new Hold();

  async function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    const method = req.method ?? 'GET';
    const full = new URL(req.url ?? '/', 'http://fake');
    const path = full.pathname.replace(/\.json$/, '').replace(/\/+$/, '') || '/';
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]),
    );
    let json: unknown;
    const isJson = (req.headers['content-type'] ?? '').includes('json');
    if (raw.length > 0 && isJson) {
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch {
        requests.push({ method, path: full.pathname + full.search, headers, body: raw.toString('utf8') });
        send(res, { status: 400, body: { error: 'Unprocessable JSON', description: 'The request body is not valid JSON' } });
        return;
      }
    }
    requests.push({ method, path: full.pathname + full.search, headers, body: json ?? (raw.length > 0 ? raw : undefined) });

    if (method === 'GET' && serveAttachment(full.pathname, res)) return;
    if (!path.startsWith('/api/v2/')) {
      send(res, { status: 404, body: { error: 'InvalidEndpoint', description: 'Not found' } });
      return;
    }
    const auth = req.headers.authorization;
    if (auth !== basic && (bearer === undefined || auth !== bearer) && (impersonator === undefined || auth !== impersonator)) {
      send(res, { status: 401, body: { error: "Couldn't authenticate you" } });
      return;
    }

    if (method === 'POST' || method === 'PUT') await gate.pass();

    const compute = (): Answer => {
      try {
        return route(method, path, full.searchParams, req, raw, json);
      } catch (err) {
        if (err instanceof ZdError) return err.answer;
        throw err;
      }
    };

    const failure = method === 'POST' || method === 'PUT' ? failures[0] : undefined;
    if (failure) {
      failure.left -= 1;
      if (failure.left <= 0) failures.shift();
      const { response } = failure;
      const real = response.applyFirst || response.passThrough ? compute() : undefined;
      if (response.delayMs) await new Promise((r) => setTimeout(r, response.delayMs));
      if (response.passThrough && real) {
        send(res, real);
        return;
      }
      send(res, {
        status: response.status,
        body: response.body ?? JSON.stringify({ error: 'SimulatedFailure', description: `simulated ${response.status}` }),
        headers: { 'content-type': response.body && !/^\s*[{[]/.test(response.body) ? 'text/plain' : 'application/json', ...response.headers },
      });
      return;
    }
    send(res, compute());
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const fake: FakeZendesk = {
    url,
    exportPageSize: 1000,
    rateLimitExports: 0,
    tickets,
    users,
    identitiesOf: (userId: number) => {
      const user = users.find((u) => u.id === userId);
      return user ? identitiesOf(user).map(({ type, value }) => ({ type, value })) : [];
    },
    audits,
    requests,
    failNext(n, response) {
      if (n > 0) failures.push({ left: n, response });
    },
    holdWrites: () => gate.start(),
    addAgentComment(ticketId, body, o = {}) {
      const ticket = ticketById(ticketId);
      const author = agent();
      const auditId = ids.audit++;
      const tokens: string[] = [];
      for (const a of o.attachments ?? []) {
        const answer = upload(new URLSearchParams({ filename: a.file_name }), a.data, a.content_type);
        tokens.push((answer.body as { upload: { token: string } }).upload.token);
      }
      // Written in Zendesk's rich-text editor: html_body as typed, body/plain_body without the markup (and link targets).
      const html_body = `<div class="zd-comment"><p>${body}</p></div>`;
      const comment = addComment(ticket, { html_body, public: o.public ?? true, author_id: author.id, uploads: tokens }, author.id, true, auditId);
      if (comment.public && ticket.status === 'new') ticket.status = 'open';
      recordAudit(ticket, author.id, undefined, [{ type: 'Comment', id: comment.id, public: comment.public, body }], auditId);
      return { commentId: comment.id };
    },
    closeTicket(ticketId) {
      ticketById(ticketId).status = 'closed';
    },
    solveTicket(ticketId) {
      ticketById(ticketId).status = 'solved';
    },
    retag(ticketId, tags) {
      ticketById(ticketId).tags = [...new Set(normalizeTags(tags))];
    },
    seedTicket(t) {
      const requester: FakeUser = { id: ids.user++, name: 'Seeded Player', email: null, external_id: null, phone: null, role: 'end-user' };
      users.push(requester);
      const at = t.createdAt ?? now();
      const ticket: FakeTicket = {
        id: ids.ticket++, subject: t.subject ?? null, requester_id: requester.id, submitter_id: requester.id, priority: null, type: null,
        status: t.status ?? 'solved', group_id: null, tags: [...new Set(normalizeTags(t.tags))], custom_fields: [], external_id: null,
        via_followup_source_id: null,
        comments: [{ id: ids.comment++, body: t.description, html_body: `<p>${t.description}</p>`, public: true, author_id: requester.id, uploads: [], created_at: at }],
      };
      tickets.push(ticket);
      return ticket;
    },
    deleteTicket(ticketId) {
      ticketById(ticketId);
      deleted.add(ticketId);
    },
    signWebhook(body, secret, timestamp = now()) {
      const signature = createHmac('sha256', secret).update(timestamp + body).digest('base64');
      return { 'x-zendesk-webhook-signature': signature, 'x-zendesk-webhook-signature-timestamp': timestamp };
    },
    reset() {
      gate.release();
      for (const list of [tickets, users, audits, requests, failures]) list.length = 0;
      for (const map of [deleted, uploads, attachments, commentAttachmentIds, commentAudit, idempotency]) map.clear();
      fake.exportPageSize = 1000;
      fake.rateLimitExports = 0;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}
