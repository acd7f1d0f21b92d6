import { z } from 'zod';
import type { AttachmentRef, InboundDraft, NormalizedMessage, Sender } from './message.ts';
import type { Decision } from './rules/schema.ts';
import type { CustomerView } from './identity/customer.ts';
import type { RecordKind, Retention } from './retention.ts';
import type { LastSet } from './last-set.ts';

/**
 * The one interface every connector implements. Connectors import this file (and the
 * message schema); the HTTP layer and the runtimes adapt to it. Nothing here knows
 * about Fastify, SQLite or Redis.
 */

export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

// ---------------------------------------------------------------- HTTP, framework-free

export interface UploadedFile {
  field: string;
  filename: string;
  mime: string;
  data: Buffer;
}

/** What is known of a request before its body is read: where a header or URL secret is checked. */
export interface RequestHead {
  method: string;
  /** Path relative to the route's mount point, with the query string. */
  url: string;
  /** Lower-case names; a repeated header is joined with ", ". */
  headers: Record<string, string | undefined>;
  /** One value per name: the HTTP layer refuses a repeated parameter with a 400. */
  query: Record<string, string | undefined>;
  ip: string;
}

export interface InboundRequest extends RequestHead {
  /** The exact bytes received; signatures are computed over these. */
  rawBody: Buffer;
  /**
   * Parsed body, by content type: a JSON value, or a null-prototype record for urlencoded and
   * multipart fields (a repeated field is a list). Keys `__proto__`, `constructor` and
   * `prototype` never reach a route: the HTTP layer refuses them with a 400.
   */
  body: unknown;
  files: UploadedFile[];
}

export interface HttpResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RouteSpec {
  method: 'GET' | 'POST' | 'OPTIONS';
  /**
   * Where it is mounted: `/webhooks/{channelId}` (default), `/forms/{channelId}`, or
   * `/admin/channels/{channelId}` behind the admin token (not mounted when no admin token is set).
   */
  prefix?: 'webhooks' | 'forms' | 'admin';
  /** Below the prefix: '' means exactly `/webhooks/{channelId}`; '/qr' means `/webhooks/{channelId}/qr`. */
  path: string;
  handler(req: InboundRequest): Promise<HttpResponse>;
  /** Per-route body limit in bytes, for every content type (web forms with files need more than the default). */
  bodyLimit?: number;
  /** Who may send, checked by the HTTP layer before the body is read or parsed. */
  guard?: RouteGuard;
}

/**
 * A route's proof of sender, run by the HTTP layer before the handler, so that a forged or
 * unwanted request costs neither the read nor the parse of its body. Each check answers a
 * refusal (status >= 400) or undefined to let the request on. Both are synchronous and cheap.
 */
export interface RouteGuard {
  /** As soon as the headers are in, before a byte of the body is read: a secret in a header or the URL, an origin, a rate limit. */
  head?(req: RequestHead): HttpResponse | undefined;
  /** On the exact bytes (read up to the route's limit), before they are parsed: a signature over the body. */
  body?(req: RequestHead, rawBody: Buffer): HttpResponse | undefined;
}

// ---------------------------------------------------------------- shared services

/** How long the store keeps a record; with neither, until it is deleted. */
export interface KvSetOptions {
  /** What the record is: kept as long as the admin keeps that kind (`retention:`, src/core/retention.ts). */
  keep?: RecordKind;
  /** Or: forgotten this long after it was written (a cache that is of no use after). */
  ttlMs?: number;
}

export interface KeyValueStore {
  get(key: string): Promise<string | undefined>;
  /** Writes the value and its retention (a later `set` replaces both); an expired record reads as absent. */
  set(key: string, value: string, opts?: KvSetOptions): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * A sliding-window cap that holds when many callers ask at once, in one process or several:
   * atomically forgets the ids recorded under `key` more than `windowMs` ago, then answers true
   * when `id` is already recorded (a retry) or fewer than `limit` are, recording `id` now. The
   * record is forgotten `windowMs` after the last id it recorded.
   */
  claimInWindow(key: string, id: string, limit: number, windowMs: number): Promise<boolean>;
  /**
   * Optional, for a store reached over the network: appends `values` to the ring `name` as
   * RoutingLog keeps it (records `name:<seq % keep>`, the pointer `name:pointer` {head, tail}), in
   * one atomic step; records from the old end whose JSON `at` is before `oldestAllowed` go too,
   * at least 4 per value appended over time (never the ones just written). Without it RoutingLog
   * does the same in its own steps, its appends serialized per process.
   */
  appendToRing?(name: string, values: string[], keep: number, oldestAllowed: number): Promise<void>;
}

/** Bytes that must outlive the request until delivery (uploaded form files). */
export interface BlobStore {
  put(data: Buffer): Promise<string>;
  get(key: string): Promise<Buffer | undefined>;
  delete(key: string): Promise<void>;
}

export interface AcceptOutcome {
  id: string;
  dedupeKey: string;
  duplicate: boolean;
}

export interface FetchedFile {
  name: string;
  mime: string;
  data: Buffer;
}

// ---------------------------------------------------------------- channels

export interface ChannelContext {
  channelId: string;
  log: Logger;
  /** Durable insert-if-absent of normalized messages; resolves only once stored. */
  accept(drafts: InboundDraft[]): Promise<AcceptOutcome[]>;
  kv: KeyValueStore;
  blobs: BlobStore;
  /** Where this gateway stores its files (sessions, caches). */
  dataDir: string;
  publicUrl?: string;
  /**
   * Tell the agents something about a conversation of this channel (a failed delivery
   * reported later by a status callback, an oversize file): becomes a private note on
   * its ticket. Keyed, so a repeated report writes one note. No-op when no ticket is linked.
   */
  noteToAgents(conversationExternalId: string, text: string, dedupeKey: string): Promise<void>;
  /**
   * Send a conversation of this channel a reply again, through its outbound lane (retried and
   * dead-lettered like any reply; the channel's `send` decides its form): for a channel that
   * learns only later that a reply did not arrive and knows what to do instead (WhatsApp's 131047
   * in a `failed` status → the template). Keyed like `noteToAgents`. No-op when no ticket is linked.
   */
  replyAgain(conversationExternalId: string, reply: { text: string; replyId: string }, dedupeKey: string): Promise<void>;
  /**
   * Hands `work` (JSON) back to this channel's `afterSends` once the sends to the conversation that
   * are under way or queued have finished: a job in the conversation's outbound lane, behind them.
   * For an event about a send that may not be recorded yet (a WhatsApp `failed` status that
   * arrives before the gateway has indexed the send's message id). Keyed like `noteToAgents`.
   */
  afterSends(conversationExternalId: string, work: JsonValue, dedupeKey: string): Promise<void>;
  /** The conversation (of this channel) a ticket belongs to, e.g. for a `[#1234]` subject tag. */
  conversationForTicket(ticketId: string): Promise<string | undefined>;
  /**
   * How long `kv` keeps each kind of record (`retention:`), for a channel whose memory of what it
   * took reaches only that far back (email rescans a rebuilt folder no further). Absent: the defaults.
   */
  retention?: Readonly<Retention>;
}

/** Where a reply goes: what the gateway remembers about the conversation. */
export interface Conversation {
  channelId: string;
  externalId: string;
  subject?: string;
  threadRefs?: string[];
  sender: Sender;
  /** Channel-specific memory (last inbound message id, window opened at, …). */
  meta?: Record<string, unknown>;
}

export interface ReplyToSend {
  text: string;
  html?: string;
  files: FetchedFile[];
  /** The helpdesk comment id: a stable id for the channel's own dedupe, if it has one. */
  replyId: string;
  automatic?: boolean;
  /**
   * A question with choices (a rating 1–5), given only to channels that declare `buttons`: they
   * render them as buttons, a list or a template's quick replies, and a pick comes back as a
   * message whose `choice` is the option's id. Other channels get the choices as text instead.
   */
  choices?: Choices;
}

export interface Choices {
  /** In order; `id` is what comes back (at most 64 characters), `label` what the customer sees. */
  options: { id: string; label: string }[];
  /** A short caption for a button that opens a menu of the options (at most 20 characters). */
  menu: string;
  /** The customer's language (ru, uz, en): picks the approved template where a channel needs one. */
  language: string;
}

export interface SendResult {
  /** Channel message ids of what was sent. */
  externalIds: string[];
  /** What the customer did not get, said so the agent can act (becomes a private note). */
  notes?: string[];
}

/** What a channel says about itself now: /readyz, /metrics and the console read it often, so it is cheap. */
export interface ChannelStatus {
  /** Able to receive. */
  ready: boolean;
  /** What is wrong, or what it is doing, in plain words. */
  detail?: string;
  /**
   * One word for the console: `connected` (a live connection: IMAP, polling), `receiving` (webhook
   * routes mounted), `linked` (a paired account), `waiting` (for the admin: a QR code to scan),
   * `connecting`, `standby`, `stopped`, `error`. Absent: `receiving` when ready, else `error`.
   */
  state?: string;
  /** Short facts worth showing beside it, e.g. `{ mode: 'polling' }`. */
  facts?: Record<string, string>;
}

/** What the vendor says about the channel (Telegram's webhook registration): costs a call, so the console caches it. */
export interface ChannelInspection {
  /** Something the admin should fix, in plain words; absent when all is well. */
  problem?: string;
  facts: Record<string, string>;
}

/** A fix the admin can run from the console, e.g. registering the webhook with the vendor. */
export interface ChannelAction {
  /** URL-safe name: `set-webhook`. */
  name: string;
  /** The button's text. */
  label: string;
  /** One sentence on what it does, shown beside the button. */
  description: string;
  /** Runs it; the answer is a summary for a person (no secrets). Throws with a message on failure. */
  run(): Promise<string>;
}

export interface ChannelInstance {
  routes?: RouteSpec[];
  start?(): Promise<void>;
  stop?(): Promise<void>;
  /**
   * Receiving may run in one process only (a poller). On a store several processes share,
   * `start` runs in the one holding the channel's lease; `stop` must allow a later `start`.
   */
  exclusive?: boolean;
  send(to: Conversation, reply: ReplyToSend): Promise<SendResult>;
  fetchAttachment(ref: AttachmentRef): Promise<FetchedFile>;
  /** The attachment reached the helpdesk: free whatever the channel kept for it (stored uploads). */
  releaseAttachment?(ref: AttachmentRef): Promise<void>;
  /** For /readyz and the console: is the channel able to receive, and what is it doing? */
  status?(): ChannelStatus;
  /** What the vendor knows about this channel (the console shows it; called at most every half minute). */
  inspect?(): Promise<ChannelInspection>;
  /** Fixes an admin may run from the console. */
  actions?: ChannelAction[];
  /** `switchboard check --online`: prove the credentials work. */
  check?(): Promise<string>;
  /** Does what the channel put off with `ChannelContext.afterSends` (`work` as it gave it, unchecked). */
  afterSends?(conversationExternalId: string, work: unknown): Promise<void>;
}

/** What a job can carry for a channel: it is stored as JSON. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * What kind of conversation a channel carries. Helpdesks map their own notions (a ticket's
 * source, a contact's messenger ids) from this, never from a channel's kind.
 */
export const MEDIA = ['messenger', 'phone', 'email', 'form', 'api'] as const;
export type Medium = (typeof MEDIA)[number];

/** What a reply to the customer can carry on a channel. */
export type Capability = 'text' | 'files' | 'buttons';

/** A configured channel as a helpdesk sees it: its id, its kind, and what it is. */
export interface ChannelRef {
  id: string;
  kind: string;
  medium: Medium;
  /** The messenger network its sender ids belong to (`telegram`, `whatsapp`), where it is one. */
  network?: string;
}

/** Bad usage of a command (exit code 2), said in words for the person who typed it. */
export class UsageError extends Error {}

/** A `switchboard <kind> <name>` command a channel brings along (e.g. `telegram set-webhook`). */
export interface ChannelCommand<Options = unknown> {
  name: string;
  description: string;
  /** Commander-style flags, e.g. `{ flags: '--delete', description: 'remove the webhook' }`. */
  flags?: { flags: string; description: string }[];
  /**
   * Runs for one configured channel of this kind (`--channel`, or the only one); returns what to
   * print. Throws UsageError for a problem the person can fix in the config or the flags.
   */
  run(ctx: { channelId: string; options: Options; publicUrl?: string; flags: Record<string, unknown> }): Promise<string>;
}

export interface ChannelDefinition<O extends z.ZodObject = z.ZodObject> {
  kind: string;
  /** What the channel is: helpdesks map from this. */
  medium: Medium;
  /** The messenger network its sender ids belong to, for helpdesks that keep messenger ids on a contact. */
  network?: string;
  /** What a reply can carry; empty for a channel that only receives (its `send` says so in a note). */
  sends: readonly Capability[];
  /** Zod schema of this channel's options (without `kind`); becomes part of the config schema. */
  options: O;
  /** Option keys that hold secrets: never echoed in errors or logs. */
  secrets?: string[];
  /** Commands `switchboard <kind> …` gets from this channel. */
  commands?: ChannelCommand<z.infer<O>>[];
  create(options: z.infer<O>, ctx: ChannelContext): ChannelInstance | Promise<ChannelInstance>;
  /** What `switchboard check` and the start log point out in valid but risky options. */
  warnings?(options: z.infer<O>): OptionWarning[];
}

/** A valid option the admin should know about (a password allowed without TLS), at its key path. */
export interface OptionWarning {
  path: (string | number)[];
  message: string;
}

export function defineChannel<O extends z.ZodObject>(def: ChannelDefinition<O>): ChannelDefinition<O> {
  return def;
}

// ---------------------------------------------------------------- notifiers

/** An escalation notice: what a rule's `notify:` sends to the teams next to support. */
export interface Notice {
  /** The part after `id:` in the rule's target, e.g. `compliance` in `slack:compliance`. */
  target: string;
  /** What happened, in one line, when it is not "rules fired" (an SLA breach). */
  headline?: string;
  ticketId: string;
  ticketUrl?: string;
  rules: string[];
  priority?: string;
  tags: string[];
  channel: { id: string; kind: string };
  senderName?: string;
  /** The message text; the notifier masks personal data before it leaves. */
  text: string;
}

export interface NotifierInstance {
  send(notice: Notice, ctx: AttemptContext): Promise<void>;
  check?(): Promise<string>;
}

export interface NotifierDefinition<O extends z.ZodObject = z.ZodObject> {
  kind: string;
  options: O;
  secrets?: string[];
  create(options: z.infer<O>, ctx: { log: Logger; kv: KeyValueStore }): NotifierInstance | Promise<NotifierInstance>;
}

export function defineNotifier<O extends z.ZodObject>(def: NotifierDefinition<O>): NotifierDefinition<O> {
  return def;
}

// ---------------------------------------------------------------- helpdesks

export interface AttemptContext {
  /** 1 for the first try. */
  attempt: number;
  /** A previous attempt may have been applied without us seeing the answer: look before writing. */
  reconcile: boolean;
  /** Stable across retries of the same delivery; use as Idempotency-Key / correlation id. */
  idempotencyKey: string;
}

export interface TicketInput {
  /** The channel the message came through, with what it is (the configured channel's definition says). */
  channel: ChannelRef;
  message: NormalizedMessage;
  /** More messages delivered together with `message` (an album). */
  extra: NormalizedMessage[];
  decision: Decision;
  subject: string;
  files: FetchedFile[];
  /**
   * Private note text (what could not be attached, which rules fired with `rulesFired: note`): a
   * write of its own where the helpdesk cannot put a private note in the message's write.
   */
  notes: string[];
  /** The gateway's conversation key; connectors may store it on the ticket for reconciliation. */
  conversationKey: string;
  /** A closed ticket this one follows up, if any. */
  followUpOf?: string;
  /**
   * For a message to an existing ticket, what the gateway last set on it (docs/helpdesk-mapping.md):
   * read the ticket first only to raise the priority above this (`mayRaisePriority`) or, where an
   * update replaces the tag list, to add tags beyond these (`tagsBeyond`). Absent: not known.
   */
  lastSet?: LastSet;
  /**
   * Write the message (text and files) as a private note, not as the customer's public comment
   * (set when every message in it is `private`: call logs, CRM events). Never shown to the customer.
   */
  private?: boolean;
}

export interface RequesterRef {
  id: string;
  /** For the agents, as a private note on the ticket: e.g. two helpdesk users that belong together. */
  notes?: string[];
}

export interface TicketRef {
  ticketId: string;
  requesterId: string;
  /** A ticket URL for humans (notices, logs). */
  url?: string;
}

export interface AgentReply {
  ticketId: string;
  commentId: string;
  text: string;
  html?: string;
  attachments: { name: string; mime: string; url: string; size?: number }[];
  createdAt?: string;
  /** The ticket's tags, where the read that found the reply carries them (a `reply_via_<channel>` tag chooses the channel). */
  ticketTags?: string[];
}

export type AgentEventResult =
  /** `tags`: the ticket's tags, where the event carries them (an event names one ticket), so no read is needed for them. */
  | { ok: true; ticketIds: string[]; tags?: string[]; response?: HttpResponse; solved?: SolvedTicket[] }
  | { ok: false; status: number; error: string };

/** A ticket the helpdesk's event reports solved, with the tags it carries when the event says. */
export interface SolvedTicket {
  ticketId: string;
  tags?: string[];
}

/** The customer's rating of a solved ticket, and how the agents see it. */
export interface RatingInput {
  /** 1 (bad) to 5 (excellent). */
  score: number;
  requesterId: string;
  /** Added to the ticket (e.g. `csat_5`). */
  tags: string[];
  /** Custom fields by symbolic name (mapped in the helpdesk's `fields`). */
  fields: Record<string, number>;
  /** A private note for the agents. */
  note: string;
}

export interface HelpdeskInstance {
  readonly kind: string;
  /**
   * Finds or creates the helpdesk user for a customer the gateway meets for the first time.
   * `customer` is what the gateway knows of them beyond this sender (the player id, proven phones
   * and emails): look the user up by those before creating one.
   */
  upsertRequester(sender: Sender, channel: ChannelRef, ctx: AttemptContext, customer?: CustomerView): Promise<RequesterRef>;
  /**
   * Adds a customer's proven emails, phones and player id to their existing helpdesk user. Never
   * merges two users: one that already holds an identifier is named in `notes` instead.
   */
  addIdentities?(requesterId: string, customer: CustomerView, ctx: AttemptContext): Promise<RequesterRef>;
  createTicket(input: TicketInput, requester: RequesterRef, ctx: AttemptContext): Promise<TicketRef>;
  /**
   * Append a customer message to an existing ticket. May answer with another ticket id
   * when the old one could not take it (closed): the caller relinks the conversation.
   */
  appendMessage(ticketId: string, input: TicketInput, requester: RequesterRef, ctx: AttemptContext): Promise<TicketRef>;
  addPrivateNote(ticketId: string, text: string, ctx: AttemptContext): Promise<void>;
  /** Adds tags to the ticket, keeping the ones it has; adding a tag it has changes nothing. */
  addTags(ticketId: string, tags: string[], ctx: AttemptContext): Promise<void>;
  /**
   * Writes the customer's rating: into the helpdesk's own satisfaction rating where its API takes
   * one, and always as the tags, fields and private note given. Safe to repeat (`reconcile`).
   * Without it the gateway writes only the note.
   */
  recordRating?(ticketId: string, rating: RatingInput, ctx: AttemptContext): Promise<void>;
  /**
   * Who may post agent events to `POST /helpdesk/events` (a header secret, a signature over the
   * body), checked before the body is read or parsed. Absent: the proof sits inside the body
   * and `verifyAgentEvent` checks it.
   */
  agentEventGuard?: RouteGuard;
  /**
   * Parse the helpdesk's agent-reply webhook once `agentEventGuard` let it through (and check
   * any proof that sits inside the body). Never throws for bad input.
   */
  verifyAgentEvent(req: InboundRequest): Promise<AgentEventResult>;
  /** Public agent comments on the ticket, oldest first; the gateway dedupes on commentId. */
  listAgentReplies(ticketId: string): Promise<AgentReply[]>;
  fetchAttachment(url: string): Promise<FetchedFile>;
  check?(): Promise<string>;
}

/** What one answer from a helpdesk said about its rate limit. */
export interface RateSignal {
  /** Requests per minute the helpdesk says it allows (X-RateLimit-Total, X-Rate-Limit). */
  limit?: number;
  /** Requests left in its current window (X-RateLimit-Remaining). */
  remaining?: number;
  /** Until that window resets, in ms, when the helpdesk says. */
  resetMs?: number;
  /** It asked for a pause before the next request (Retry-After on a 429 or 503), in ms. */
  retryAfterMs?: number;
  /** It refused the request for the rate (429). */
  limited?: boolean;
}

/**
 * Paces the requests to a helpdesk (one limiter per helpdesk, shared by every request to it).
 * A connector awaits `acquire` before each HTTP request and reports each answer with `observe`.
 */
export interface RateLimiter {
  /** Resolves when `cost` requests may go out; `endpoint` names an endpoint with a cap of its own. */
  acquire(cost?: number, endpoint?: string): Promise<void>;
  /** Called once per request `acquire` let through, when its answer (or its failure) is in. */
  observe(signal: RateSignal): void;
}

/** No pacing at all (the dry run, and connectors created outside a gateway). */
export const unlimited: RateLimiter = { acquire: async () => {}, observe: () => {} };

/** A helpdesk's documented limits, for the limiter the gateway puts in front of it. */
export interface HelpdeskRateLimits {
  /** Requests per minute when `requestsPerMinute` is not configured: the smallest paid plan's limit. */
  requestsPerMinute: number;
  /** Endpoints capped below the account's limit, per minute, for an account allowed `requestsPerMinute`. */
  endpoints?(requestsPerMinute: number): Record<string, number>;
}

export interface HelpdeskContext {
  log: Logger;
  kv: KeyValueStore;
  dataDir: string;
  /** Paces requests to the helpdesk; absent means unpaced. */
  limiter?: RateLimiter;
}

export interface HelpdeskDefinition<O extends z.ZodObject = z.ZodObject> {
  kind: string;
  /** Zod schema of the helpdesk's options (without `kind`); extend `HelpdeskCommonOptions`. */
  options: O;
  secrets?: string[];
  /** Its API's rate limits; without them the helpdesk is not paced (the dry run). */
  rateLimits?: HelpdeskRateLimits;
  create(options: z.infer<O>, ctx: HelpdeskContext): HelpdeskInstance | Promise<HelpdeskInstance>;
  /** Reads the tickets agents have handled (training the text model, `rules eval`); absent: no list API. */
  history?(options: z.infer<O>, ctx: HelpdeskContext): HistoryReader;
}

/** A ticket as the helpdesk has it now: the customer's first words and the tags agents left. */
export interface HistoryTicket {
  id: string;
  createdAt?: string;
  subject?: string;
  /** The customer's first message, plain text. */
  text: string;
  tags: string[];
}

export interface HistoryQuery {
  /** Tickets created or updated since then. */
  since: Date;
  /** Only tickets this says yes to need their text (a helpdesk that reads each ticket separately skips the rest). */
  want?(ticketId: string): boolean;
  /** Called as tickets arrive, with the count so far. */
  onProgress?(count: number): void;
}

export interface HistoryReader {
  tickets(query: HistoryQuery): AsyncIterable<HistoryTicket>;
}

export function defineHelpdesk<O extends z.ZodObject>(def: HelpdeskDefinition<O>): HelpdeskDefinition<O> {
  return def;
}

/** Options every helpdesk shares: how the rules' symbolic names map to this helpdesk's ids. */
export const HelpdeskCommonOptions = z.object({
  groups: z.record(z.string(), z.union([z.number(), z.string()])).default({})
    .describe('symbolic group name (used by rules) → helpdesk group id'),
  fields: z.record(z.string(), z.union([z.number(), z.string()])).default({})
    .describe('symbolic custom field name (used by rules) → helpdesk field id or key'),
  types: z.record(z.string(), z.string()).default({})
    .describe('rule ticket type → helpdesk type, when the names differ'),
  rulesFired: z.enum(['tags', 'note']).default('tags')
    .describe('how agents see which rules fired: tags (a rule_<name> tag each, in the same write as the message) or note (a private note: one request more per message)'),
  requestsPerMinute: z.number().int().positive().optional()
    .describe("requests per minute to the helpdesk, never more; unset: the smallest plan's documented limit until the helpdesk reports its own"),
  timeoutMs: z.number().int().positive().default(15000).describe('per-request timeout'),
  attachments: z.strictObject({
    maxBytes: z.number().int().positive().default(50 * 1024 * 1024).describe('largest file of an agent\'s reply that is downloaded'),
    timeoutMs: z.number().int().positive().default(60_000).describe('the whole download of one file, redirects included'),
    allowPrivateAddresses: z.boolean().default(false)
      .describe('follow attachment links to loopback and private addresses (an on-premise helpdesk whose files live on another internal host); links on baseUrl are always fetched'),
  }).prefault({}).describe("downloading the files of agents' replies"),
});
export type HelpdeskCommonOptions = z.infer<typeof HelpdeskCommonOptions>;
