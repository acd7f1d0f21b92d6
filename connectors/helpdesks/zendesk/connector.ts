import { createHash } from 'node:crypto';
import type {
  AttemptContext,
  HelpdeskContext,
  HelpdeskInstance,
  RequesterRef,
  TicketInput,
  TicketRef,
} from '../../../src/core/connector.ts';
import { asDeliveryError, DeliveryError } from '../../../src/core/errors.ts';
import type { Sender } from '../../../src/core/message.ts';
import { agentEventGuard, ticketIdsFromEvent } from './agent-events.ts';
import { TicketResponse, UserResponse, type ZdAudit, type ZdTicket } from './api.ts';
import { isClosedTicketError, isIdempotencyMismatch, isNotFound, rejectedFields } from './errors.ts';
import { ZendeskHttp } from './http.ts';
import { authorizationFor, type ZendeskOptions } from './options.ts';
import { findCreatedTicket, hasMarker, listAudits, type Marker } from './reconcile.ts';
import { recordRating } from './rating.ts';
import { listAgentReplies } from './replies.ts';
import { OPTIONAL_USER_FIELDS, requesterUser, type ZendeskUserInput } from './requester.ts';
import { commentBody, raisesPriority, ticketRouting, zendeskId, zendeskTags } from './ticket-fields.ts';
import { forgetUploads, rememberedUploadNotes, uploadFiles } from './uploads.ts';
import type { CustomerView } from '../../../src/core/identity/customer.ts';
import { mayRaisePriority } from '../../../src/core/last-set.ts';
import { addZendeskIdentities, userOfPlayer } from './identities.ts';

/** create_or_update counts against Zendesk's per-user update limit; an unchanged user is not sent again for this long. */
const REQUESTER_REUSE_MS = 10 * 60_000;

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** The customer's words are their public comment; a private message (a call log) is an internal note by the API user. */
function commentVisibility(input: TicketInput, requesterId: number | string): { public: boolean; author_id?: number | string } {
  return input.private ? { public: false } : { public: true, author_id: requesterId };
}

export function createZendeskHelpdesk(options: ZendeskOptions, ctx: HelpdeskContext): HelpdeskInstance {
  const log = ctx.log.child({ helpdesk: 'zendesk' });
  const kv = ctx.kv;
  const http = new ZendeskHttp({
    baseUrl: options.baseUrl,
    authorization: authorizationFor(options),
    timeoutMs: options.timeoutMs,
    limiter: ctx.limiter,
    log,
  });
  // Requests made as the ticket's requester (X-On-Behalf-Of), for Zendesk's own satisfaction rating.
  const asRequester = options.csatImpersonationToken
    ? new ZendeskHttp({ baseUrl: options.baseUrl, authorization: `Bearer ${options.csatImpersonationToken}`, timeoutMs: options.timeoutMs, limiter: ctx.limiter, log })
    : undefined;
  const ticketPath = (id: string): string => `/tickets/${encodeURIComponent(id)}`;
  const ref = (ticketId: number | string, requesterId: string): TicketRef => ({
    ticketId: String(ticketId),
    requesterId,
    url: `${http.baseUrl}/agent/tickets/${ticketId}`,
  });

  async function createOrUpdateUser(user: ZendeskUserInput): Promise<number> {
    const { data } = await http.request('create or update requester', 'POST', '/users/create_or_update', UserResponse, {
      json: { user },
    });
    if (data.user.id === null) {
      throw new DeliveryError('create or update requester: Zendesk returned a user without an id', { kind: 'retry', ambiguous: true });
    }
    return data.user.id;
  }

  /** The player's user when Zendesk has one; else the sender's, keyed by the player id when there is one. */
  async function upsertRequester(sender: Sender, channel: { id: string; kind: string }, customer?: CustomerView): Promise<RequesterRef> {
    const player = customer?.playerId ? await userOfPlayer(http, customer.playerId) : undefined;
    const id = player ?? Number((await upsertSender(sender, channel, customer)).id);
    const more = customer && (customer.playerId || customer.emails.length + customer.phones.length > 0);
    return more ? addZendeskIdentities(http, id, customer) : { id: String(id) };
  }

  async function upsertSender(sender: Sender, channel: { id: string; kind: string }, customer?: CustomerView): Promise<RequesterRef> {
    let user = requesterUser(sender, channel, customer?.playerId);
    const cacheKey = `zendesk:requester:${sha256(JSON.stringify(user))}`;
    const cached = await kv.get(cacheKey);
    if (cached) {
      const [id, at] = cached.split('@');
      if (id && Date.now() - Number(at) < REQUESTER_REUSE_MS) return { id };
    }
    let id: number;
    try {
      id = await createOrUpdateUser(user);
    } catch (err) {
      // A phone or locale Zendesk will not take is no reason to lose the customer's message.
      const fields = rejectedFields(err);
      const optional: readonly string[] = OPTIONAL_USER_FIELDS;
      if (fields.length === 0 || !fields.every((f) => optional.includes(f))) throw err;
      log.warn({ fields, detail: asDeliveryError(err).detail }, 'Zendesk refused optional requester fields; upserting without them');
      user = Object.fromEntries(Object.entries(user).filter(([k]) => !fields.includes(k))) as ZendeskUserInput;
      id = await createOrUpdateUser(user);
    }
    await kv.set(cacheKey, `${id}@${Date.now()}`, { ttlMs: REQUESTER_REUSE_MS });
    return { id: String(id) };
  }

  /** POST with Idempotency-Key; a key Zendesk already saw with another body means an earlier attempt got there first. */
  async function postTicket(ticket: Record<string, unknown>, key: string, externalId: string, marker: Marker): Promise<ZdTicket> {
    const post = async (idempotencyKey: string): Promise<ZdTicket> => {
      const { data, headers } = await http.request('create ticket', 'POST', '/tickets', TicketResponse, {
        json: { ticket },
        headers: { 'idempotency-key': idempotencyKey },
      });
      if (headers.get('x-idempotency-lookup') === 'hit') log.info({ ticketId: data.ticket.id }, 'Zendesk returned the ticket an earlier attempt created');
      return data.ticket;
    };
    try {
      return await post(key);
    } catch (err) {
      if (!isIdempotencyMismatch(err)) throw err;
      const found = await findCreatedTicket(http, externalId, marker);
      if (found) return found.ticket;
      // No ticket carries this message: the key's earlier request created nothing we must reuse.
      return await post(`${key}:${sha256(JSON.stringify(ticket)).slice(0, 16)}`);
    }
  }

  /**
   * The private note that goes with a message. It comes after the ticket exists, so a failure
   * here must not cost the ticket: permanent failures are logged, transient ones are marked
   * ambiguous so the retry looks before writing.
   */
  async function addNotes(ticketId: string, notes: string[], messageId: string, audits?: ZdAudit[]): Promise<void> {
    if (notes.length === 0) return;
    const marker = { note_id: `${messageId}:notes` };
    if (audits && hasMarker(audits, marker)) return;
    try {
      await putNote(ticketId, notes.join('\n'), marker);
    } catch (err) {
      const e = asDeliveryError(err);
      if (e.kind === 'permanent') {
        log.warn({ ticketId, error: e.message, detail: e.detail }, 'could not add the private note to the ticket');
        return;
      }
      throw new DeliveryError(e.message, { kind: e.kind, status: e.status, retryAfterMs: e.retryAfterMs, detail: e.detail, ambiguous: true, cause: e });
    }
  }

  async function putNote(ticketId: string, body: string, marker: Marker): Promise<void> {
    await http.request(`add private note to ticket ${ticketId}`, 'PUT', ticketPath(ticketId), TicketResponse, {
      json: { ticket: { comment: { body, public: false }, metadata: { switchboard: marker } } },
    });
  }

  async function createTicket(input: TicketInput, requester: RequesterRef, attempt: AttemptContext): Promise<TicketRef> {
    const routing = ticketRouting(input.decision, options);
    // Marked as the gateway's, and by how the customer wrote: triggers scope on these tags.
    routing.tags = zendeskTags([...routing.tags, options.ticketTag, `${options.ticketTag}_${input.channel.medium}`]);
    const marker = { message_id: input.message.id };
    if (attempt.reconcile) {
      const found = await findCreatedTicket(http, input.conversationKey, marker);
      if (found) {
        log.info({ ticketId: found.ticket.id, messageId: input.message.id }, 'an earlier attempt created the ticket; not creating another');
        const notes = [...input.notes, ...(await rememberedUploadNotes(kv, attempt.idempotencyKey))];
        await addNotes(String(found.ticket.id), notes, input.message.id, found.audits);
        await forgetUploads(kv, attempt.idempotencyKey, input.files);
        return ref(found.ticket.id, requester.id);
      }
    }
    const uploads = await uploadFiles(http, input.files, { kv, key: attempt.idempotencyKey });
    const requesterId = zendeskId(requester.id);
    const ticket = {
      subject: input.subject,
      comment: {
        body: commentBody(input, input.files),
        ...commentVisibility(input, requesterId),
        ...(uploads.tokens.length > 0 ? { uploads: uploads.tokens } : {}),
      },
      requester_id: requesterId,
      // The submitter authors the first comment; a private one is the gateway's (the API user's).
      ...(input.private ? {} : { submitter_id: requesterId }),
      ...routing,
      external_id: input.conversationKey,
      ...(input.followUpOf ? { via_followup_source_id: zendeskId(input.followUpOf) } : {}),
      metadata: { switchboard: marker },
    };
    const created = await postTicket(ticket, attempt.idempotencyKey, input.conversationKey, marker);
    await addNotes(String(created.id), [...input.notes, ...uploads.notes], input.message.id);
    await forgetUploads(kv, attempt.idempotencyKey, input.files);
    return ref(created.id, requester.id);
  }

  /** Writes the message onto the ticket, or says why the ticket cannot take it. */
  async function writeToTicket(
    ticketId: string,
    input: TicketInput,
    requester: RequesterRef,
    attempt: AttemptContext,
  ): Promise<'written' | 'closed' | 'deleted'> {
    const marker = { message_id: input.message.id };
    try {
      if (attempt.reconcile) {
        const audits = await listAudits(http, ticketId);
        if (hasMarker(audits, marker)) {
          log.info({ ticketId, messageId: input.message.id }, 'an earlier attempt added the message; not adding it again');
          const notes = [...input.notes, ...(await rememberedUploadNotes(kv, attempt.idempotencyKey))];
          await addNotes(ticketId, notes, input.message.id, audits);
          return 'written';
        }
      }
      // Reading the ticket costs a request: only when the priority may rise above what the gateway
      // last set (an agent may have set it higher). A closed ticket refuses the update itself.
      let priority: string | undefined;
      if (input.decision.priority && mayRaisePriority(input.decision.priority, input.lastSet)) {
        const { data } = await http.request(`read ticket ${ticketId}`, 'GET', ticketPath(ticketId), TicketResponse);
        if (data.ticket.status === 'closed') return 'closed';
        if (raisesPriority(data.ticket.priority, input.decision.priority)) priority = input.decision.priority;
      }
      const uploads = await uploadFiles(http, input.files, { kv, key: attempt.idempotencyKey });
      const tags = zendeskTags(input.decision.tags);
      const ticket = {
        comment: {
          body: commentBody(input, input.files),
          ...commentVisibility(input, zendeskId(requester.id)),
          ...(uploads.tokens.length > 0 ? { uploads: uploads.tokens } : {}),
        },
        ...(tags.length > 0 ? { additional_tags: tags } : {}),
        ...(priority ? { priority } : {}),
        metadata: { switchboard: marker },
      };
      await http.request(`add message to ticket ${ticketId}`, 'PUT', ticketPath(ticketId), TicketResponse, { json: { ticket } });
      await addNotes(ticketId, [...input.notes, ...uploads.notes], input.message.id);
      return 'written';
    } catch (err) {
      if (isClosedTicketError(err)) return 'closed';
      if (isNotFound(err)) return 'deleted';
      throw err;
    }
  }

  return {
    kind: 'zendesk',
    upsertRequester: (sender, channel, _ctx, customer) => upsertRequester(sender, channel, customer),
    addIdentities: (requesterId, customer) => addZendeskIdentities(http, Number(requesterId), customer),
    createTicket,

    async appendMessage(ticketId, input, requester, attempt) {
      const outcome = await writeToTicket(ticketId, input, requester, attempt);
      if (outcome === 'written') {
        await forgetUploads(kv, attempt.idempotencyKey, input.files);
        return ref(ticketId, requester.id);
      }
      // Zendesk links a follow-up only to a closed ticket; a deleted one leaves nothing to link to.
      log.info({ ticketId, outcome }, 'the ticket cannot take the message; opening a follow-up ticket');
      return createTicket({ ...input, followUpOf: outcome === 'closed' ? ticketId : undefined }, requester, attempt);
    },

    async addPrivateNote(ticketId, text, attempt) {
      const marker = { note_id: attempt.idempotencyKey };
      if (attempt.reconcile && hasMarker(await listAudits(http, ticketId), marker)) return;
      await putNote(ticketId, text, marker);
    },

    agentEventGuard: agentEventGuard(options),

    async addTags(ticketId, tags) {
      const additional = zendeskTags(tags);
      if (additional.length === 0) return;
      try {
        // additional_tags adds to what the ticket has; adding one it has changes nothing.
        await http.request(`add tags to ticket ${ticketId}`, 'PUT', ticketPath(ticketId), TicketResponse, { json: { ticket: { additional_tags: additional } } });
      } catch (err) {
        if (!isClosedTicketError(err) && !isNotFound(err)) throw err;
        log.info({ ticketId, tags: additional }, 'the ticket is closed or gone; no tags added');
      }
    },

    async verifyAgentEvent(req) {
      return ticketIdsFromEvent(req);
    },

    recordRating: (ticketId, rating, attempt) => recordRating({ http, asRequester, options, log }, ticketId, rating, attempt),

    listAgentReplies: (ticketId) => listAgentReplies(http, ticketId),
    fetchAttachment: (url) => http.download(url, options.attachments),

    async check() {
      const { data } = await http.request('check credentials', 'GET', '/users/me', UserResponse);
      if (data.user.id === null) {
        throw new DeliveryError('check credentials: Zendesk answered as an anonymous user; check email and apiToken', { kind: 'permanent' });
      }
      return `authenticated as ${data.user.name ?? '?'} <${data.user.email ?? '?'}> (${data.user.role ?? 'unknown role'}) at ${http.baseUrl}`;
    },
  };
}
