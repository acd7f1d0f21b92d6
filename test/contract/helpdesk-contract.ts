import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FetchedFile, HelpdeskInstance, InboundRequest, RateLimiter, RateSignal, TicketInput } from '../../src/core/connector.ts';
import type { NormalizedMessage, Sender } from '../../src/core/message.ts';
import { agentEvent } from '../fixtures/route.ts';
import { afterWrite } from '../../src/core/last-set.ts';
import { channelRef } from '../fixtures/channel-ref.ts';
import { inboundRequest } from '../fixtures/request.ts';
import { attempt, decision, deliveryFailure as failure, newMessage, ticketInput } from '../fixtures/message.ts';

/**
 * The contract every helpdesk connector passes: each scenario runs the connector, through the
 * `HelpdeskInstance` interface only, against its fake helpdesk (a real HTTP server speaking the
 * helpdesk's documented formats), and checks what the helpdesk ended up holding. A new helpdesk
 * connector is done when this suite passes for it.
 *
 * A scenario that cannot apply to a connector (the dry run has no agents) is declared in
 * `notApplicable`, and the suite then checks the documented behaviour instead of skipping.
 */

/** A ticket as the contract sees it, in the gateway's words (priority low/normal/high/urgent). */
export interface ContractTicket {
  id: string;
  requesterId: string;
  subject: string | null;
  priority: string | null;
  type: string | null;
  group: string | number | null;
  tags: string[];
  /** Custom field key (as the helpdesk names it) → value. */
  fields: Record<string, unknown>;
  /** The first message first; notes included. */
  messages: ContractMessage[];
}

export interface ContractMessage {
  text: string;
  public: boolean;
  byRequester: boolean;
  /** `data` when the helpdesk keeps the bytes; the dry run keeps sizes. */
  files: { name: string; size: number; data?: Buffer }[];
}

export interface ContractRequester {
  id: string;
  name?: string | null;
  email?: string | null;
  phone?: string | null;
  /** The channel's id for the customer, where the helpdesk keeps it. */
  externalId?: string | null;
  /** Every email (lowercased) and phone (digits only) the helpdesk keeps for the requester. */
  contacts?: string[];
}

export interface ContractFailure {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  delayMs?: number;
  /** Apply the write, then answer with the failure (the answer is lost, the write is not). */
  applyFirst?: boolean;
}

export interface HelpdeskHarness {
  /** The connector under test, configured against the fake (options: groups.payments, fields.player_id). */
  connect(opts?: { timeoutMs?: number; limiter?: RateLimiter }): Promise<HelpdeskInstance>;
  ticket(id: string): ContractTicket | undefined;
  tickets(): ContractTicket[];
  requester(id: string): ContractRequester | undefined;
  requesterCount(): number;
  /** What the ticket's routing looks like in the helpdesk for group `payments` and field `player_id`. */
  expected: { group: string | number; fieldKey: string; nativeRating4?: string };
  reset(): Promise<void> | void;
  close(): Promise<void>;

  // Remote helpdesks only.
  closeTicket?(id: string): void;
  deleteTicket?(id: string): void;
  /** The next `n` writes fail so. */
  failNext?(n: number, failure: ContractFailure): void;
  /** A refusal in the helpdesk's own format (its status and body), as it answers an invalid ticket. */
  rejection?: { status: number; body: string };
  addAgentReply?(ticketId: string, text: string, opts?: { private?: boolean; file?: FetchedFile }): void;
  /** The agent-reply webhook the helpdesk sends for a ticket (the body its docs page gives): authentic, with a wrong secret, or with none. */
  agentEvent?(ticketId: string, how: 'authentic' | 'forged' | 'unauthenticated'): InboundRequest;
  /** An agent adds a tag to the ticket in the helpdesk. */
  tagTicket?(ticketId: string, tag: string): void;
  /**
   * The webhook the helpdesk sends when an agent changes a ticket's status (as its guide sets it up),
   * for a helpdesk whose message write goes through on a closed ticket; absent where the write is refused.
   */
  statusEvent?(ticketId: string): InboundRequest;
  /** Requests the fake helpdesk has received since the last reset. */
  requestCount?(): number;
  /** The (authentic) event the documented trigger or automation sends when an agent solves the ticket, with its tags. */
  solvedEvent?(ticketId: string, tags: string[]): InboundRequest;
  /** An agent solves the ticket in the helpdesk. */
  solveTicket?(id: string): void;
  /**
   * The helpdesk's own satisfaction ratings on the ticket, in its words, where its API takes one
   * from the gateway; with `expected.nativeRating4` what a 4 of 5 becomes.
   */
  nativeRatings?(id: string): string[];

  // Local helpdesks only (the dry run).
  /** Make the next write fail the way the local store fails. */
  breakStorage?(): Promise<void>;
}

export interface HelpdeskContractSpec {
  name: string;
  start(): Promise<HelpdeskHarness>;
  notApplicable?: {
    /** No agents: every agent event is refused with this error, and there is nothing to list. */
    agents?: { refusal: RegExp };
    /** Nothing remote: no rate limits, 5xx or lost answers; a repeated call with the same key writes once. */
    remote?: true;
    /** Tickets never close or vanish: a follow-up always lands on the same ticket. */
    ticketLifecycle?: true;
    /** Accepts every ticket as given: nothing to refuse. */
    validation?: true;
    /** Keeps no player id on the requester (it stays on the ticket's player field). */
    playerIdOnRequester?: true;
  };
}

// ---------------------------------------------------------------- inputs

const TELEGRAM = { id: 'telegram', kind: 'telegram' };
let customers = 0;
/** A new message from `sender`, on Telegram unless `channel` says. */
const message = (text: string, sender: Sender, channel = TELEGRAM): NormalizedMessage => newMessage(text, { sender, channel });

/** A limiter that lets everything through and remembers what it was told. */
function recordingLimiter(): RateLimiter & { acquired: number; signals: RateSignal[] } {
  const l = {
    acquired: 0,
    signals: [] as RateSignal[],
    async acquire() {
      l.acquired += 1;
    },
    observe(s: RateSignal) {
      l.signals.push(s);
    },
  };
  return l;
}

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4, 250, 251]);
const PDF = Buffer.from('%PDF-1.4 statement of account');

// ---------------------------------------------------------------- the suite

export function helpdeskContract(spec: HelpdeskContractSpec): void {
  const na = spec.notApplicable ?? {};

  describe(`helpdesk contract: ${spec.name}`, () => {
    let h: HelpdeskHarness;
    let hd: HelpdeskInstance;
    let customer: Sender;

    beforeAll(async () => {
      h = await spec.start();
    });
    afterAll(async () => {
      await h?.close();
    });
    beforeEach(async () => {
      await h.reset();
      hd = await h.connect();
      customer = { externalId: String(700000 + ++customers), displayName: 'Azamat Karimov', username: 'azamat_uz', locale: 'ru' };
    });

    const input = (msg: NormalizedMessage, o: Partial<TicketInput> = {}): TicketInput => ticketInput({ message: msg, subject: 'Вывод не пришёл', ...o });

    async function newTicket(o: Partial<TicketInput> = {}, text = 'вывод не пришёл уже 3 дня') {
      const msg = message(text, customer);
      const requester = await hd.upsertRequester(msg.sender, channelRef(msg.channel), attempt());
      const ref = await hd.createTicket(input(msg, o), requester, attempt());
      const ticket = h.ticket(ref.ticketId);
      expect(ticket, `ticket ${ref.ticketId} is in the helpdesk`).toBeDefined();
      return { ref, requester, ticket: ticket! };
    }

    const publicTexts = (id: string) => h.ticket(id)!.messages.filter((m) => m.public).map((m) => m.text);

    /** The helpdesk tells the gateway of an agent's change to the ticket, where it has to. */
    async function told(ticketId: string): Promise<void> {
      if (h.statusEvent) expect(await hd.verifyAgentEvent(h.statusEvent(ticketId))).toMatchObject({ ok: true });
    }

    it('create: the customer is the requester and author; subject, priority, tags, type, group, custom field and the rules note are set', async () => {
      const { ref, requester, ticket } = await newTicket({
        decision: decision({ priority: 'high', tags: ['payments', 'withdrawal'], type: 'incident', group: 'payments', fields: { player_id: 'P-5512345' } }),
        notes: ['Switchboard rules fired: withdrawal.'],
      });
      expect(ref.requesterId).toBe(requester.id);
      expect(ticket.requesterId).toBe(requester.id);
      expect(h.requester(requester.id)?.name).toContain('Azamat');
      expect(ticket.subject).toBe('Вывод не пришёл');
      expect(ticket.priority).toBe('high');
      expect(ticket.tags).toEqual(expect.arrayContaining(['payments', 'withdrawal']));
      expect(ticket.type?.toLowerCase()).toBe('incident');
      expect(ticket.group).toEqual(h.expected.group);
      expect(ticket.fields[h.expected.fieldKey]).toBe('P-5512345');
      const [first] = ticket.messages;
      expect(first).toMatchObject({ public: true, byRequester: true });
      expect(first!.text).toContain('вывод не пришёл уже 3 дня');
      const note = ticket.messages.find((m) => !m.public);
      expect(note?.text).toContain('rules fired: withdrawal');
    });

    it('append: the next message goes on the same ticket, as the customer, adding tags and keeping the old ones', async () => {
      const { ref, requester } = await newTicket({ decision: decision({ tags: ['payments'] }) });
      const next = await hd.appendMessage(ref.ticketId, input(message('ID 5512345, карта Humo', customer), { decision: decision({ tags: ['kyc'] }) }), requester, attempt());
      expect(next.ticketId).toBe(ref.ticketId);
      expect(h.tickets()).toHaveLength(1);
      const ticket = h.ticket(ref.ticketId)!;
      const texts = ticket.messages.filter((m) => m.public && m.byRequester).map((m) => m.text);
      expect(texts).toHaveLength(2);
      expect(texts[1]).toContain('карта Humo');
      expect(ticket.tags).toEqual(expect.arrayContaining(['payments', 'kyc']));
    });

    it('attachments: the files of a new ticket and of a follow-up arrive with their names and bytes', async () => {
      const { ref, requester } = await newTicket({ files: [{ name: 'receipt.png', mime: 'image/png', data: PNG }] }, 'чек об оплате');
      await hd.appendMessage(ref.ticketId, input(message('выписка', customer), { files: [{ name: 'statement.pdf', mime: 'application/pdf', data: PDF }] }), requester, attempt());
      const files = h.ticket(ref.ticketId)!.messages.filter((m) => m.public).flatMap((m) => m.files);
      expect(files.map((f) => f.name)).toEqual([expect.stringMatching(/^receipt\.png$/), 'statement.pdf']);
      expect(files.map((f) => f.size)).toEqual([PNG.length, PDF.length]);
      for (const [i, bytes] of [PNG, PDF].entries()) if (files[i]!.data) expect(files[i]!.data!.equals(bytes)).toBe(true);
    });

    it('a requester known only by a phone number is created with it, and found again rather than duplicated', async () => {
      const voice = { id: 'phone-line', kind: 'twilio-voice' };
      const caller: Sender = { externalId: '+998901234567', phone: '+998901234567' };
      const first = await hd.upsertRequester(caller, channelRef(voice), attempt());
      await hd.createTicket(input(message('missed call', caller, voice)), first, attempt());
      const count = h.requesterCount();
      expect(h.requester(first.id)?.phone?.replace(/\D/g, '')).toBe('998901234567');
      const again = await (await h.connect()).upsertRequester(caller, channelRef(voice), attempt());
      expect(again.id).toBe(first.id);
      expect(h.requesterCount()).toBe(count);
    });

    it("a customer's proven email, phone and player id reach their one requester; one another requester holds is never merged", async () => {
      if (!hd.addIdentities) return;
      const first = await hd.upsertRequester({ externalId: '777001' }, channelRef(TELEGRAM), attempt(), { phones: [], emails: [] });
      const holder = await hd.upsertRequester({ externalId: 'taken@example.com', email: 'taken@example.com' }, channelRef({ id: 'mail', kind: 'email' }), attempt());
      const count = h.requesterCount();
      const ref = await hd.addIdentities(first.id, { playerId: 'P-4242', phones: ['+998901112200'], emails: ['p4242@example.com', 'taken@example.com'] }, attempt());
      expect(ref.id).toBe(first.id);
      expect(h.requesterCount()).toBe(count);
      expect(h.requester(first.id)!.contacts).toEqual(expect.arrayContaining(['998901112200', 'p4242@example.com']));
      if (!na.playerIdOnRequester) expect(h.requester(first.id)!.externalId).toBe('P-4242');
      // The other requester is still there, with its own address: the gateway links forward, it never merges.
      expect(h.requester(holder.id)!.contacts).toContain('taken@example.com');
      if (!h.requester(first.id)!.contacts!.includes('taken@example.com')) expect(ref.notes?.join(' ')).toMatch(/taken@example\.com.*never merges/s);
      // Told again, nothing more is written or noted twice over.
      const again = await hd.addIdentities(first.id, { playerId: 'P-4242', phones: ['+998901112200'], emails: ['p4242@example.com'] }, attempt());
      expect(again).toEqual({ id: first.id });
    });

    it('a requester known only by the channel user id is created with it, and found again rather than duplicated', async () => {
      const anonymous: Sender = { externalId: '5550001' };
      const first = await hd.upsertRequester(anonymous, channelRef(TELEGRAM), attempt());
      await hd.createTicket(input(message('salom', anonymous)), first, attempt());
      const count = h.requesterCount();
      const stored = h.requester(first.id)!;
      expect(`${stored.externalId ?? ''} ${stored.name ?? ''}`).toContain('5550001');
      // A fresh connector (no cache) must find the same one.
      const again = await (await h.connect()).upsertRequester(anonymous, channelRef(TELEGRAM), attempt());
      expect(again.id).toBe(first.id);
      expect(h.requesterCount()).toBe(count);
    });

    it('add tags: the ticket keeps its tags and gains the new one; adding it again changes nothing, and no message is written', async () => {
      const { ref } = await newTicket({ decision: decision({ tags: ['payments'] }) });
      const before = h.ticket(ref.ticketId)!.messages.length;
      await hd.addTags(ref.ticketId, ['sla_breached'], attempt());
      await hd.addTags(ref.ticketId, ['sla_breached'], attempt());
      const ticket = h.ticket(ref.ticketId)!;
      expect(ticket.tags).toEqual(expect.arrayContaining(['payments', 'sla_breached']));
      expect(ticket.tags.filter((t) => t === 'sla_breached')).toHaveLength(1);
      expect(ticket.messages).toHaveLength(before);
    });

    if (!na.ticketLifecycle) {
      it('add tags to a closed or deleted ticket: nothing to tag, and no error that would dead-letter the job', async () => {
        const closed = await newTicket();
        h.closeTicket!(closed.ref.ticketId);
        await hd.addTags(closed.ref.ticketId, ['sla_breached'], attempt());
        const deleted = await newTicket();
        h.deleteTicket!(deleted.ref.ticketId);
        await hd.addTags(deleted.ref.ticketId, ['sla_breached'], attempt());
      });
    }

    if (na.ticketLifecycle) {
      it('tickets never close: a follow-up to a ticket always lands on it (declared: no ticket lifecycle)', async () => {
        const { ref, requester } = await newTicket();
        const next = await hd.appendMessage(ref.ticketId, input(message('still there?', customer)), requester, attempt());
        expect(next.ticketId).toBe(ref.ticketId);
      });
    } else {
      it('a message for a closed ticket opens a new ticket; the closed one is left alone', async () => {
        const { ref, requester } = await newTicket();
        h.closeTicket!(ref.ticketId);
        await told(ref.ticketId);
        const before = h.ticket(ref.ticketId)!.messages.length;
        const next = await hd.appendMessage(ref.ticketId, input(message('it happened again', customer)), requester, attempt());
        expect(next.ticketId).not.toBe(ref.ticketId);
        expect(publicTexts(next.ticketId)[0]).toContain('it happened again');
        expect(h.ticket(next.ticketId)!.requesterId).toBe(requester.id);
        expect(h.ticket(ref.ticketId)!.messages).toHaveLength(before);
      });

      it('a message for a deleted ticket opens a new ticket', async () => {
        const { ref, requester } = await newTicket();
        h.deleteTicket!(ref.ticketId);
        await told(ref.ticketId);
        const next = await hd.appendMessage(ref.ticketId, input(message('hello?', customer)), requester, attempt());
        expect(next.ticketId).not.toBe(ref.ticketId);
        expect(publicTexts(next.ticketId)[0]).toContain('hello?');
      });
    }

    if (na.remote) {
      it('nothing remote: a call repeated with the same idempotency key writes once (declared: no network)', async () => {
        const msg = message('written once', customer);
        const requester = await hd.upsertRequester(msg.sender, channelRef(msg.channel), attempt());
        const ctx = attempt();
        const a = await hd.createTicket(input(msg), requester, ctx);
        const b = await hd.createTicket(input(msg), requester, { ...ctx, attempt: 2, reconcile: true });
        expect(b.ticketId).toBe(a.ticketId);
        expect(h.tickets()).toHaveLength(1);
      });

      it('nothing remote: a failing local store is a retryable error, not a lost message', async () => {
        const msg = message('store broken', customer);
        const requester = await hd.upsertRequester(msg.sender, channelRef(msg.channel), attempt());
        await h.breakStorage!();
        const err = await failure(hd.createTicket(input(msg), requester, attempt()));
        expect(err.kind).toBe('retry');
      });
    } else {
      it('the request budget: a ticket for a known requester is one request, a follow-up that changes nothing the gateway set is one more', async () => {
        const msg = message('вывод не пришёл уже 3 дня', customer);
        const requester = await hd.upsertRequester(msg.sender, channelRef(msg.channel), attempt());
        const routed = decision({ priority: 'high', tags: ['payments', 'rule_withdrawal'], group: 'payments' });
        let before = h.requestCount!();
        const ref = await hd.createTicket(input(msg, { decision: routed }), requester, attempt());
        expect(h.requestCount!() - before).toBe(1);
        before = h.requestCount!();
        const next = await hd.appendMessage(ref.ticketId, input(message('вывод так и не пришёл', customer), { decision: routed, lastSet: afterWrite(undefined, routed) }), requester, attempt());
        expect(h.requestCount!() - before).toBe(1);
        expect(next.ticketId).toBe(ref.ticketId);
        const ticket = h.ticket(ref.ticketId)!;
        expect(publicTexts(ref.ticketId)).toEqual([expect.stringContaining('3 дня'), expect.stringContaining('так и не пришёл')]);
        expect(ticket).toMatchObject({ priority: 'high', tags: expect.arrayContaining(['payments', 'rule_withdrawal']) });
      });

      it('a follow-up that may raise the priority above what the gateway set raises it, and adds its tags', async () => {
        const msg = message('бонус не начислили', customer);
        const requester = await hd.upsertRequester(msg.sender, channelRef(msg.channel), attempt());
        const first = decision({ priority: 'normal', tags: ['bonus'] });
        const ref = await hd.createTicket(input(msg, { decision: first }), requester, attempt());
        const raised = decision({ priority: 'high', tags: ['payments', 'withdrawal'] });
        await hd.appendMessage(ref.ticketId, input(message('и вывод не проходит', customer), { decision: raised, lastSet: afterWrite(undefined, first) }), requester, attempt());
        expect(h.ticket(ref.ticketId)).toMatchObject({ priority: 'high', tags: expect.arrayContaining(['bonus', 'payments', 'withdrawal']) });
      });

      it('429 with Retry-After: rate limited with that wait, and the limiter is told', async () => {
        const limiter = recordingLimiter();
        hd = await h.connect({ limiter });
        const { ref, requester } = await newTicket();
        expect(limiter.acquired).toBeGreaterThan(0);
        expect(limiter.signals).toHaveLength(limiter.acquired);
        h.failNext!(1, { status: 429, body: '{"message":"Too many requests"}', headers: { 'retry-after': '7' } });
        const err = await failure(hd.appendMessage(ref.ticketId, input(message('x', customer)), requester, attempt()));
        expect(err).toMatchObject({ kind: 'rate_limited', status: 429, retryAfterMs: 7000 });
        expect(limiter.signals.at(-1)).toMatchObject({ limited: true, retryAfterMs: 7000 });
        expect(publicTexts(ref.ticketId)).toHaveLength(1);
      });

      it('429 without Retry-After: still rate limited, with a wait of its own', async () => {
        const { ref, requester } = await newTicket();
        h.failNext!(1, { status: 429, body: 'Too Many Requests' });
        const err = await failure(hd.appendMessage(ref.ticketId, input(message('x', customer)), requester, attempt()));
        expect(err.kind).toBe('rate_limited');
        expect(err.retryAfterMs).toBeGreaterThan(0);
      });

      it('5xx: retried, marked ambiguous, the helpdesk’s words kept', async () => {
        const { ref, requester } = await newTicket();
        h.failNext!(1, { status: 502, body: '<html>502 Bad Gateway</html>' });
        const err = await failure(hd.appendMessage(ref.ticketId, input(message('x', customer)), requester, attempt()));
        expect(err).toMatchObject({ kind: 'retry', ambiguous: true, status: 502, detail: '<html>502 Bad Gateway</html>' });
      });

      it('a timeout after the helpdesk applied a create: the retry makes no second ticket', async () => {
        const slow = await h.connect({ timeoutMs: 150 });
        const msg = message('slow helpdesk, create', customer);
        // Only the timed-out attempt uses the short timeout: a loaded machine may take longer than
        // 150 ms for the lookups, and the retry is what must reconcile.
        const requester = await hd.upsertRequester(msg.sender, channelRef(msg.channel), attempt());
        const ctx = attempt();
        h.failNext!(1, { status: 500, applyFirst: true, delayMs: 400 });
        const err = await failure(slow.createTicket(input(msg), requester, ctx));
        expect(err).toMatchObject({ kind: 'retry', ambiguous: true });
        expect(h.tickets()).toHaveLength(1);
        const again = await hd.createTicket(input(msg), requester, { ...ctx, attempt: 2, reconcile: true });
        expect(again.ticketId).toBe(h.tickets()[0]!.id);
        expect(h.tickets()).toHaveLength(1);
      });

      it('a timeout after the helpdesk applied a follow-up: the retry adds no second copy', async () => {
        const { ref, requester } = await newTicket();
        const slow = await h.connect({ timeoutMs: 150 });
        const msg = message('slow helpdesk, append', customer);
        const ctx = attempt();
        h.failNext!(1, { status: 500, applyFirst: true, delayMs: 400 });
        const err = await failure(slow.appendMessage(ref.ticketId, input(msg), requester, ctx));
        expect(err).toMatchObject({ kind: 'retry', ambiguous: true });
        await hd.appendMessage(ref.ticketId, input(msg), requester, { ...ctx, attempt: 2, reconcile: true });
        expect(publicTexts(ref.ticketId).filter((t) => t.includes('slow helpdesk, append'))).toHaveLength(1);
      });
    }

    if (na.validation) {
      it('accepts every ticket as given: nothing to refuse (declared: no validation)', async () => {
        const { ticket } = await newTicket({ decision: decision({ type: 'anything-at-all', group: 'no-such-group' }) });
        expect(ticket.type).toBe('anything-at-all');
      });
    } else {
      it('a validation error is permanent and keeps the helpdesk’s own words verbatim (for the dead-letter record)', async () => {
        const msg = message('refused', customer);
        const requester = await hd.upsertRequester(msg.sender, channelRef(msg.channel), attempt());
        h.failNext!(1, h.rejection!);
        const err = await failure(hd.createTicket(input(msg), requester, attempt()));
        expect(err.kind).toBe('permanent');
        expect(err.detail).toBe(h.rejection!.body);
        expect(h.tickets()).toHaveLength(0);
      });

      it('a group or field with no mapping is permanent and names the option to set, before anything is written', async () => {
        const msg = message('unmapped', customer);
        const requester = await hd.upsertRequester(msg.sender, channelRef(msg.channel), attempt());
        const err = await failure(hd.createTicket(input(msg, { decision: decision({ group: 'vip', fields: { loyalty: 'gold' } }) }), requester, attempt()));
        expect(err.kind).toBe('permanent');
        expect(err.message).toContain('helpdesk.groups.vip');
        expect(err.message).toContain('helpdesk.fields.loyalty');
        expect(h.tickets()).toHaveLength(0);
      });
    }

    it('a rating lands on the ticket as its tag and one private note, however often the write is retried', async () => {
      const { ref, requester } = await newTicket({ decision: decision({ tags: ['payments'] }) });
      h.solveTicket?.(ref.ticketId);
      const rating = { score: 4, requesterId: requester.id, tags: ['csat_4'], fields: {}, note: 'Switchboard: the customer rated this ticket 4/5.' };
      expect(hd.recordRating, 'recordRating is implemented').toBeDefined();
      await hd.recordRating!(ref.ticketId, rating, attempt({ idempotencyKey: 'contract-rating-1' }));
      await hd.recordRating!(ref.ticketId, rating, attempt({ idempotencyKey: 'contract-rating-1', attempt: 2, reconcile: true }));
      const ticket = h.ticket(ref.ticketId)!;
      expect(ticket.tags).toEqual(expect.arrayContaining(['payments', 'csat_4']));
      expect(ticket.messages.filter((m) => !m.public && m.text.includes('rated this ticket 4/5'))).toHaveLength(1);
      expect(ticket.messages.filter((m) => m.public)).toHaveLength(1);
      if (h.nativeRatings) expect(h.nativeRatings(ref.ticketId)).toEqual([h.expected.nativeRating4]);
    });

    if (na.agents) {
      const refusal = na.agents.refusal;
      it('has no agents: every agent-reply webhook is refused, and there are no replies to list (declared)', async () => {
        const result = await agentEvent(hd, inboundRequest('{"ticket_id":"1"}'));
        expect(result).toMatchObject({ ok: false, status: 401 });
        expect(result.ok ? '' : result.error).toMatch(refusal);
        const { ref } = await newTicket();
        expect(await hd.listAgentReplies(ref.ticketId)).toEqual([]);
      });
    } else {
      it('the solved event names the ticket (for the rating question) with its tags, and asks for no reply read', async () => {
        const { ref } = await newTicket();
        const result = await hd.verifyAgentEvent(h.solvedEvent!(ref.ticketId, ['payments', 'responsible_gaming']));
        expect(result).toMatchObject({ ok: true, ticketIds: [] });
        if (!result.ok) return;
        expect(result.solved?.map((t) => t.ticketId)).toEqual([ref.ticketId]);
        const tags = result.solved?.[0]?.tags;
        // A helpdesk whose event carries no tags leaves them to the gateway's own record of the rules' tags.
        if (tags && tags.length > 0) expect(tags).toEqual(['payments', 'responsible_gaming']);
      });

      it('a forged or unauthenticated agent-reply webhook is refused', async () => {
        const { ref } = await newTicket();
        for (const how of ['forged', 'unauthenticated'] as const) {
          const result = await agentEvent(hd, h.agentEvent!(ref.ticketId, how));
          expect(result, how).toMatchObject({ ok: false, status: 401 });
        }
      });

      it('an agent’s public reply is delivered once however often the webhook repeats; private notes and the customer’s words are not', async () => {
        const { ref } = await newTicket();
        const guide: FetchedFile = { name: 'guide.pdf', mime: 'application/pdf', data: Buffer.from('%PDF-1.4 how to verify') };
        h.addAgentReply!(ref.ticketId, 'Пришлите, пожалуйста, фото паспорта.', { file: guide });
        h.addAgentReply!(ref.ticketId, 'internal: check AML first', { private: true });
        const delivered = new Map<string, string>();
        for (let i = 0; i < 3; i++) {
          const event = await agentEvent(hd, h.agentEvent!(ref.ticketId, 'authentic'));
          expect(event).toMatchObject({ ok: true });
          if (!event.ok) continue;
          expect(event.ticketIds).toContain(ref.ticketId);
          for (const reply of await hd.listAgentReplies(ref.ticketId)) delivered.set(reply.commentId, reply.text);
        }
        expect([...delivered.values()]).toHaveLength(1);
        expect([...delivered.values()][0]).toContain('фото паспорта');
        const [reply] = await hd.listAgentReplies(ref.ticketId);
        expect(reply!.ticketId).toBe(ref.ticketId);
        const attachment = reply!.attachments.find((a) => a.name === 'guide.pdf');
        expect(attachment).toBeDefined();
        const file = await hd.fetchAttachment(attachment!.url);
        expect(file.data.equals(guide.data)).toBe(true);
      });

      it('the ticket’s tags come with an agent’s reply, in the event or in the read that finds the reply (a reply_via_ tag chooses the channel)', async () => {
        const { ref } = await newTicket();
        h.tagTicket!(ref.ticketId, 'reply_via_support_mail');
        h.addAgentReply!(ref.ticketId, 'Выписку отправили на почту.');
        const event = await hd.verifyAgentEvent(h.agentEvent!(ref.ticketId, 'authentic'));
        expect(event.ok).toBe(true);
        const [reply] = await hd.listAgentReplies(ref.ticketId);
        expect([...(event.ok ? (event.tags ?? []) : []), ...(reply!.ticketTags ?? [])]).toContain('reply_via_support_mail');
      });

      it('an agent’s rich-text reply reaches the customer as plain text with link targets kept and entities decoded', async () => {
        const { ref } = await newTicket();
        h.addAgentReply!(ref.ticketId, 'Инструкция <a href="https://casino.example/help/kyc">здесь</a> &mdash; это займёт 5&nbsp;минут&#8230; It&rsquo;s <b>free</b>.');
        const [reply] = await hd.listAgentReplies(ref.ticketId);
        expect(reply!.text).toBe('Инструкция здесь (https://casino.example/help/kyc) — это займёт 5\u00a0минут… It’s free.');
      });
    }
  });
}
