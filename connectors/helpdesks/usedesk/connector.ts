import type {
  AttemptContext,
  FetchedFile,
  HelpdeskContext,
  HelpdeskInstance,
  RequesterRef,
  TicketInput,
  TicketRef,
} from '../../../src/core/connector.ts';
import { asDeliveryError, DeliveryError } from '../../../src/core/errors.ts';
import { mayRaisePriority, tagsBeyond } from '../../../src/core/last-set.ts';
import { tagsMissing } from '../../../src/kit/tags.ts';
import { ticketWatch } from '../../../src/kit/ticket-watch.ts';
import { verifyUsedeskEvent } from './agent-events.ts';
import { Channels, ClientCard, CommentCreated, Created, Done, STATUS, TicketCard, tagNames } from './api.ts';
import { createChat, type ChatMode } from './chat.ts';
import { isTicketGone } from './errors.ts';
import { UsedeskHttp } from './http.ts';
import type { UsedeskOptions } from './options.ts';
import { recordRating } from './rating.ts';
import { agentReplies } from './replies.ts';
import { addClientIdentities, clientIdentity, customerClientIdentity, upsertClient } from './requester.ts';
import {
  PRIORITY,
  additionalId,
  hasMarker,
  messageHtml,
  raisesPriority,
  textHtml,
  ticketRouting,
  usedeskTags,
  withMarker,
} from './ticket-fields.ts';

/** Only the client's newest tickets can be a create whose answer was lost. */
const MAX_CANDIDATES = 5;

/** Usedesk's web app, for ticket links: api.usedesk.ru's tickets live on secure.usedesk.ru. */
function webOrigin(baseUrl: string): string {
  const u = new URL(baseUrl);
  return u.hostname === 'api.usedesk.ru' ? 'https://secure.usedesk.ru' : u.origin;
}

export function createUsedeskHelpdesk(options: UsedeskOptions, ctx: HelpdeskContext): HelpdeskInstance {
  const log = ctx.log.child({ helpdesk: 'usedesk' });
  const kv = ctx.kv;
  const http = new UsedeskHttp({ baseUrl: options.baseUrl, apiToken: options.apiToken, timeoutMs: options.timeoutMs, limiter: ctx.limiter, log });
  const secret = options.webhookSecret ?? options.apiToken;
  const web = webOrigin(options.baseUrl);
  // A comment goes through on a closed ticket: a follow-up reads the ticket first unless it is known open.
  const watch = ticketWatch(kv, 'usedesk', options.recheckTicketAfterSec);
  const ref = (ticketId: number | string, requesterId: string): TicketRef => ({
    ticketId: String(ticketId),
    requesterId,
    ...(/^\d+$/.test(String(ticketId)) ? { url: `${web}/tickets/${ticketId}` } : {}),
  });

  const readTicket = (ticketId: string): Promise<TicketCard> =>
    http.call(`read ticket ${ticketId}`, '/ticket', { ticket_id: Number(ticketId) }, TicketCard, { wrote: false });

  async function writeComment(ticketId: string, html: string, how: { client: boolean; public: boolean; files?: FetchedFile[] }): Promise<void> {
    const params = {
      ticket_id: Number(ticketId),
      message: html,
      type: how.public ? 'public' : 'private',
      from: how.client ? 'client' : 'user',
      ...(!how.client && options.agentUserId !== undefined ? { user_id: options.agentUserId } : {}),
    };
    await http.call(`add ${how.public ? 'the message' : 'a private note'} to ticket ${ticketId}`, '/create/comment', params, CommentCreated, { files: how.files });
  }

  /**
   * The private note that goes with a message (which rules fired, what could not be attached). It
   * comes after the message is in: a transient failure is marked ambiguous, a permanent one only
   * costs the note.
   */
  async function addNotes(ticketId: string, lines: string[], messageId: string, card?: TicketCard): Promise<void> {
    if (lines.length === 0) return;
    const marker = `${messageId}:notes`;
    if (card && (card.comments ?? []).some((c) => hasMarker(c.message, marker))) return;
    try {
      await writeComment(ticketId, withMarker(textHtml(lines.join('\n')), marker), { client: false, public: false });
    } catch (err) {
      const e = asDeliveryError(err);
      if (e.kind === 'permanent') {
        log.warn({ ticketId, error: e.message, detail: e.detail }, 'could not add the private note to the ticket');
        return;
      }
      throw new DeliveryError(e.message, { kind: e.kind, status: e.status, retryAfterMs: e.retryAfterMs, detail: e.detail, ambiguous: true, cause: e });
    }
  }

  /** The ticket an earlier attempt created for this message: the client's newest tickets, the one with its additional_id. */
  async function findCreatedTicket(clientId: string, marker: string): Promise<TicketCard | undefined> {
    const client = await http.call('read client', '/client', { client_id: Number(clientId) }, ClientCard, { wrote: false });
    const candidates = [...(client.tickets ?? [])].sort((a, b) => b - a).slice(0, MAX_CANDIDATES);
    for (const id of candidates) {
      const card = await readTicket(String(id));
      if (card.ticket.additional_id === marker) return card;
    }
    return undefined;
  }

  async function createTicket(input: TicketInput, requester: RequesterRef, attempt: AttemptContext): Promise<TicketRef> {
    if (chat && !input.private) return chat.create(input, requester, attempt);
    const routing = ticketRouting(input.decision, options);
    const marker = additionalId(input.message.id);
    const lines = [
      ...(input.followUpOf ? [`This conversation continues closed ticket #${input.followUpOf}${/^\d+$/.test(input.followUpOf) ? ` (${web}/tickets/${input.followUpOf})` : ''}.`] : []),
      ...input.notes,
    ];
    if (attempt.reconcile) {
      const found = await findCreatedTicket(requester.id, marker);
      if (found) {
        log.info({ ticketId: found.ticket.id, messageId: input.message.id }, 'an earlier attempt created the ticket; not creating another');
        await addNotes(String(found.ticket.id), lines, input.message.id, found);
        return ref(found.ticket.id, requester.id);
      }
    }
    const params = {
      subject: input.subject.slice(0, 255),
      message: withMarker(messageHtml(input, input.files), input.message.id, input.message.channel.id),
      client_id: Number(requester.id),
      channel_id: options.channelId,
      from: 'client',
      additional_id: marker,
      ...(input.private ? { private_comment: true } : {}),
      ...(routing.tags.length > 0 ? { tag: routing.tags.join(', ') } : {}),
      ...(routing.priority ? { priority: routing.priority } : {}),
      ...(routing.type ? { type: routing.type } : {}),
      ...(routing.group_id !== undefined ? { group_id: routing.group_id } : {}),
      ...(routing.field_id ? { field_id: routing.field_id, field_value: routing.field_value } : {}),
    };
    let created: { ticket_id: number };
    try {
      created = await http.call('create ticket', '/create/ticket', params, Created, { files: input.files });
    } catch (err) {
      // A client merged or deleted in Usedesk since the gateway met them: meet them again on the retry.
      if (err instanceof DeliveryError && err.kind === 'permanent' && /client not found/i.test(err.message)) {
        await kv.delete(`usedesk:client-of:${input.message.channel.id}:${input.message.sender.externalId}`);
        throw new DeliveryError(`${err.message}; the client will be looked up again`, { kind: 'retry', status: err.status, detail: err.detail });
      }
      throw err;
    }
    await watch.sawOpen(String(created.ticket_id));
    await addNotes(String(created.ticket_id), lines, input.message.id);
    return ref(created.ticket_id, requester.id);
  }

  /** Tags added and priority raised (never lowered) after a follow-up; the customer's comment reopens the ticket itself. */
  async function updateAfterMessage(ticketId: string, card: TicketCard, input: TicketInput): Promise<void> {
    const existing = tagNames(card);
    const added = tagsMissing(existing, usedeskTags(input.decision.tags));
    const wanted = input.decision.priority ? PRIORITY[input.decision.priority] : undefined;
    const update: Record<string, unknown> = {};
    if (added.length > 0) update.tag = [...existing, ...added].join(', ');
    if (raisesPriority(card.ticket.priority, wanted)) update.priority = wanted;
    if (Object.keys(update).length === 0) return;
    await http.call(`update ticket ${ticketId}`, '/update/ticket', { ticket_id: Number(ticketId), ...update }, Done);
  }

  /**
   * The ticket, read when the message may have to change it (tags to add: Usedesk's update replaces
   * the list; a priority that may rise) or when the gateway does not know it is still open;
   * undefined when the comment alone will do (Usedesk reopens a solved ticket the client writes on).
   */
  async function readIfNeeded(ticketId: string, input: TicketInput, attempt: AttemptContext): Promise<TicketCard | 'deleted' | undefined> {
    const changes = tagsBeyond(input.decision.tags, input.lastSet, usedeskTags).length > 0 || mayRaisePriority(input.decision.priority, input.lastSet);
    if (!attempt.reconcile && !changes && (await watch.knownOpen(ticketId))) return undefined;
    try {
      return await readTicket(ticketId);
    } catch (err) {
      if (isTicketGone(err)) return 'deleted';
      throw err;
    }
  }

  async function writeToTicket(ticketId: string, input: TicketInput, attempt: AttemptContext): Promise<'written' | 'closed' | 'deleted'> {
    const card = await readIfNeeded(ticketId, input, attempt);
    if (card === 'deleted') return 'deleted';
    const status = card?.ticket.status_id;
    if (status === STATUS.closed) return 'closed';
    if (status === STATUS.deleted || status === STATUS.merged || status === STATUS.spam) return 'deleted';
    const written = attempt.reconcile && (card?.comments ?? []).some((c) => hasMarker(c.message, input.message.id));
    if (written) log.info({ ticketId, messageId: input.message.id }, 'an earlier attempt added the message; not adding it again');
    else {
      const html = withMarker(messageHtml(input, input.files), input.message.id, input.message.channel.id);
      try {
        await writeComment(ticketId, html, { client: !input.private, public: !input.private, files: input.files });
      } catch (err) {
        if (isTicketGone(err)) return 'deleted';
        throw err;
      }
    }
    if (card) {
      try {
        await updateAfterMessage(ticketId, card, input);
      } catch (err) {
        const e = asDeliveryError(err);
        throw new DeliveryError(e.message, { kind: e.kind, status: e.status, retryAfterMs: e.retryAfterMs, detail: e.detail, ambiguous: true, cause: e });
      }
      await watch.sawOpen(ticketId);
    }
    await addNotes(ticketId, input.notes, input.message.id, attempt.reconcile ? card : undefined);
    return 'written';
  }

  async function appendMessage(ticketId: string, input: TicketInput, requester: RequesterRef, attempt: AttemptContext): Promise<TicketRef> {
    if (chat && !input.private) {
      const sent = await chat.append(ticketId, input, requester, attempt);
      if (sent) return sent;
    }
    const outcome = await writeToTicket(ticketId, input, attempt);
    if (outcome === 'written') return ref(ticketId, requester.id);
    log.info({ ticketId, outcome }, 'the ticket cannot take the message; opening a new ticket');
    return createTicket({ ...input, followUpOf: outcome === 'closed' ? ticketId : undefined }, requester, attempt);
  }

  /** The ticket behind a linked id: a chat known only as `chat-<id>` until Usedesk says its ticket. */
  async function ticketFor(linked: string): Promise<string> {
    const id = chat ? await chat.ticketOf(linked) : linked;
    if (!id) throw new DeliveryError(`Usedesk has not told which ticket chat ${linked} is yet`, { kind: 'retry' });
    return id;
  }

  async function addPrivateNote(ticketId: string, text: string, attempt: AttemptContext): Promise<void> {
    const id = await ticketFor(ticketId);
    const marker = attempt.idempotencyKey;
    if (attempt.reconcile && ((await readTicket(id)).comments ?? []).some((c) => hasMarker(c.message, marker))) return;
    await writeComment(id, withMarker(textHtml(text), marker), { client: false, public: false });
  }

  const chat: ChatMode | undefined = options.chat
    ? createChat({ http, kv, log, chat: options.chat, readTicket, writeComment, addNotes, ref })
    : undefined;

  return {
    kind: 'usedesk',

    async upsertRequester(sender, channel, _attempt, customer) {
      const ref = await upsertClient(http, kv, customerClientIdentity(clientIdentity(sender, channel), customer));
      return customer && customer.emails.length + customer.phones.length > 1 ? addClientIdentities(http, ref.id, customer) : ref;
    },
    addIdentities: (requesterId, customer) => addClientIdentities(http, requesterId, customer),
    createTicket,
    appendMessage,

    addPrivateNote,

    async recordRating(ticketId, rating, attempt) {
      const id = await ticketFor(ticketId);
      await recordRating({ http, options, readTicket, addNote: (text) => addPrivateNote(ticketId, text, attempt) }, id, rating, attempt);
    },

    async addTags(ticketId, tags) {
      const id = chat ? await chat.ticketOf(ticketId) : ticketId;
      if (!id) throw new DeliveryError(`Usedesk has not told which ticket chat ${ticketId} is yet`, { kind: 'retry' });
      let card: TicketCard | undefined;
      try {
        card = await readTicket(id);
      } catch (err) {
        if (!isTicketGone(err)) throw err;
      }
      const status = card?.ticket.status_id;
      if (!card || status === STATUS.deleted || status === STATUS.merged || status === STATUS.spam) {
        log.info({ ticketId: id }, 'the ticket is gone; no tags added');
        return;
      }
      // update/ticket replaces the list: send what it has plus what is new.
      const existing = tagNames(card);
      const added = tagsMissing(existing, usedeskTags(tags));
      if (added.length === 0) return;
      await http.call(`add tags to ticket ${id}`, '/update/ticket', { ticket_id: Number(id), tag: [...existing, ...added].join(', ') }, Done);
    },

    async verifyAgentEvent(req) {
      const verified = verifyUsedeskEvent(req, secret);
      if (!verified.ok) return verified;
      const { event } = verified;
      // An agent did something on these tickets (a reply, a status change): look before writing again.
      for (const id of [...event.ticketIds, ...(event.changed ?? [])]) await watch.changed(id);
      const ticketIds = [...event.ticketIds];
      const solved = (event.solved ?? []).map((id) => ({ ticketId: id }));
      if (event.chat) {
        if (event.chat.ticketId) await chat?.learn(event.chat.chatId, event.chat.ticketId);
        // A chat still known only by its chat id is linked as `chat-<id>`.
        if (event.chat.fromAgent) ticketIds.push(`chat-${event.chat.chatId}`);
      }
      return { ok: true, ticketIds, ...(solved.length > 0 ? { solved } : {}) };
    },

    async listAgentReplies(ticketId) {
      const id = chat ? await chat.ticketOf(ticketId) : ticketId;
      if (!id) return [];
      return agentReplies(ticketId, await readTicket(id));
    },

    fetchAttachment: (url) => http.download(url, options.attachments),

    async check() {
      const channels = await http.call('list channels', '/channels', {}, Channels, { wrote: false });
      const wanted = [options.channelId, ...(options.chat ? [options.chat.channelId] : [])];
      const missing = wanted.filter((id) => !channels.some((c) => c.channel_id === id));
      if (missing.length > 0) {
        throw new DeliveryError(`channel ${missing.join(', ')} is not among this token's channels (${channels.map((c) => `${c.channel_id} ${c.channel_type ?? ''}`.trim()).join(', ')})`, { kind: 'permanent' });
      }
      const api = channels.find((c) => c.channel_id === options.channelId)!;
      return `channel ${api.channel_id} "${api.channel_name ?? ''}" (${api.channel_type ?? '?'}) at ${http.baseUrl}`;
    },
  };
}
