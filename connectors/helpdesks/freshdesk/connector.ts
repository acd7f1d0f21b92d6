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
import { agentEventGuard, ticketIdsFromEvent } from './agent-events.ts';
import { FdConversation, FdMe, FdTicket, FdTicketFields, STATUS } from './api.ts';
import { isNotFound, refusesField } from './errors.ts';
import { FreshdeskHttp } from './http.ts';
import { authorizationFor, type FreshdeskOptions } from './options.ts';
import { conversationWithMarker, findCreatedTicket, listConversations } from './reconcile.ts';
import { recordRating } from './rating.ts';
import { listAgentReplies } from './replies.ts';
import { addContactIdentities, contactIdentity, upsertCustomerContact } from './requester.ts';
import {
  PRIORITY,
  fitAttachments,
  freshdeskTags,
  messageHtml,
  multipart,
  raisesPriority,
  sourceFor,
  textHtml,
  ticketRouting,
  withMarker,
} from './ticket-fields.ts';

/** The account's ticket types change rarely; they are asked again after this long. */
const TYPES_REUSE_MS = 10 * 60_000;

interface NoteBody {
  html: string;
  private: boolean;
  /** The customer's own words: shown as coming in from them. */
  fromRequester?: string;
  files: FetchedFile[];
}

export function createFreshdeskHelpdesk(options: FreshdeskOptions, ctx: HelpdeskContext): HelpdeskInstance {
  const log = ctx.log.child({ helpdesk: 'freshdesk' });
  const http = new FreshdeskHttp({
    baseUrl: options.baseUrl,
    authorization: authorizationFor(options.apiKey),
    timeoutMs: options.timeoutMs,
    limiter: ctx.limiter,
    log,
  });
  const enc = encodeURIComponent;
  const ticketUrl = (id: number | string): string => `${http.baseUrl}/a/tickets/${id}`;
  const ref = (ticketId: number | string, requesterId: string): TicketRef => ({ ticketId: String(ticketId), requesterId, url: ticketUrl(ticketId) });
  // A note goes through on a closed ticket: a follow-up reads the ticket first unless it is known open.
  const watch = ticketWatch(ctx.kv, 'freshdesk', options.recheckTicketAfterSec);

  let types: { list: string[]; at: number } | undefined;
  async function accountTypes(): Promise<string[]> {
    if (types && Date.now() - types.at < TYPES_REUSE_MS) return types.list;
    const { data } = await http.request('read the ticket types', 'GET', '/ticket_fields', FdTicketFields, { query: { type: 'default_ticket_type' } });
    const choices = data.find((f) => f.name === 'ticket_type')?.choices;
    const list = Array.isArray(choices) ? choices.filter((c): c is string => typeof c === 'string') : typeof choices === 'object' && choices !== null ? Object.keys(choices) : [];
    types = { list, at: Date.now() };
    return list;
  }

  async function writeNote(ticketId: string, note: NoteBody): Promise<void> {
    const fields = (userId?: string): Record<string, unknown> => ({
      body: note.html,
      private: note.private,
      ...(note.fromRequester ? { incoming: true } : {}),
      ...(userId ? { user_id: Number(userId) } : {}),
    });
    const post = (userId?: string) => {
      const what = `add ${note.private ? 'a private note' : 'the message'} to ticket ${ticketId}`;
      const body = note.files.length > 0 ? { form: multipart(fields(userId), note.files) } : { json: fields(userId) };
      return http.request(what, 'POST', `/tickets/${enc(ticketId)}/notes`, FdConversation, body);
    };
    try {
      await post(note.fromRequester);
    } catch (err) {
      // A contact merged away since the conversation began: still the customer's words, from the API user.
      if (!note.fromRequester || !refusesField(err, 'user_id')) throw err;
      log.warn({ ticketId, detail: asDeliveryError(err).detail }, 'Freshdesk refused the requester as the note author; writing it without one');
      await post();
    }
  }

  /**
   * The private note that goes with a message (which rules fired, files not attached; for a private
   * message, the message itself). It comes after the message is in, so a transient failure is marked
   * ambiguous (the retry looks before writing) and a permanent one only costs the note.
   */
  async function addNotes(ticketId: string, lines: string[], messageId: string, extra: { conversations?: FdConversation[]; privateMessage?: NoteBody } = {}): Promise<void> {
    if (lines.length === 0 && !extra.privateMessage) return;
    const marker = `${messageId}:notes`;
    if (extra.conversations && conversationWithMarker(extra.conversations, marker)) return;
    const html = [extra.privateMessage?.html, lines.length > 0 ? textHtml(lines.join('\n')) : undefined].filter(Boolean).join('<hr>');
    try {
      await writeNote(ticketId, { html: withMarker(html, marker), private: true, files: extra.privateMessage?.files ?? [] });
    } catch (err) {
      const e = asDeliveryError(err);
      if (e.kind === 'permanent' && !extra.privateMessage) {
        log.warn({ ticketId, error: e.message, detail: e.detail }, 'could not add the private note to the ticket');
        return;
      }
      throw new DeliveryError(e.message, { kind: e.kind, status: e.status, retryAfterMs: e.retryAfterMs, detail: e.detail, ambiguous: true, cause: e });
    }
  }

  async function createTicket(input: TicketInput, requester: RequesterRef, attempt: AttemptContext): Promise<TicketRef> {
    const routing = ticketRouting(input.decision, options, input.decision.type ? await accountTypes() : undefined);
    const marker = input.message.id;
    const channel = input.channel;
    const fitted = fitAttachments(input.files, options.maxAttachmentBytes);
    const followUp = input.followUpOf ? [`This conversation continues closed ticket #${input.followUpOf} (${ticketUrl(input.followUpOf)}).`] : [];
    const lines = [...followUp, ...input.notes, ...fitted.notes];
    // A private message (a call log) is not the customer's description: it goes in a private note.
    const privateMessage = input.private ? { html: messageHtml(input, input.files), private: true, files: fitted.files } : undefined;

    if (attempt.reconcile) {
      const found = await findCreatedTicket(http, requester.id, input.subject, marker);
      if (found) {
        log.info({ ticketId: found.id, messageId: marker }, 'an earlier attempt created the ticket; not creating another');
        if (lines.length > 0 || privateMessage) {
          await addNotes(String(found.id), lines, marker, { conversations: await listConversations(http, String(found.id)), privateMessage });
        }
        return ref(found.id, requester.id);
      }
    }
    const description = withMarker(privateMessage ? textHtml(input.subject) : messageHtml(input, input.files), marker, channel.id);
    const fields: Record<string, unknown> = {
      subject: input.subject,
      description,
      requester_id: Number(requester.id),
      status: STATUS.open,
      source: sourceFor(channel, options),
      tags: routing.tags,
      ...(routing.priority !== undefined ? { priority: routing.priority } : {}),
      ...(routing.type ? { type: routing.type } : {}),
      ...(routing.group_id !== undefined ? { group_id: routing.group_id } : {}),
      ...(routing.custom_fields ? { custom_fields: routing.custom_fields } : {}),
    };
    const files = privateMessage ? [] : fitted.files;
    const { data: created } = await http.request('create ticket', 'POST', '/tickets', FdTicket, {
      ...(files.length > 0 ? { form: multipart(fields, files) } : { json: fields }),
      endpoint: 'tickets:create',
    });
    await watch.sawOpen(String(created.id));
    await addNotes(String(created.id), lines, marker, { privateMessage });
    return ref(created.id, requester.id);
  }

  async function addPrivateNote(ticketId: string, text: string, attempt: AttemptContext): Promise<void> {
    const marker = attempt.idempotencyKey;
    if (attempt.reconcile && conversationWithMarker(await listConversations(http, ticketId), marker)) return;
    await writeNote(ticketId, { html: withMarker(textHtml(text), marker), private: true, files: [] });
  }

  /**
   * Tags added, priority raised (never lowered), a resolved or pending ticket reopened: the
   * customer wrote again. Answers the ticket's status after it.
   */
  async function updateAfterMessage(ticket: FdTicket, input: TicketInput): Promise<number | null | undefined> {
    const existing = ticket.tags ?? [];
    const added = tagsMissing(existing, freshdeskTags(input.decision.tags));
    const wanted = input.decision.priority ? PRIORITY[input.decision.priority] : undefined;
    const update: Record<string, unknown> = {};
    if (added.length > 0) update.tags = [...existing, ...added];
    if (raisesPriority(ticket.priority, wanted)) update.priority = wanted;
    if (!input.private && (ticket.status === STATUS.resolved || ticket.status === STATUS.pending)) update.status = STATUS.open;
    if (Object.keys(update).length === 0) return ticket.status;
    await http.request(`update ticket ${ticket.id}`, 'PUT', `/tickets/${ticket.id}`, FdTicket, { json: update, endpoint: 'tickets:update' });
    return typeof update.status === 'number' ? update.status : ticket.status;
  }

  /**
   * The ticket, read when the message may have to change it (tags to add: Freshdesk's update
   * replaces the list; a priority that may rise) or when the gateway does not know it is still
   * open; undefined when the note alone will do.
   */
  async function readIfNeeded(ticketId: string, input: TicketInput, attempt: AttemptContext): Promise<FdTicket | 'deleted' | undefined> {
    const changes = tagsBeyond(input.decision.tags, input.lastSet, freshdeskTags).length > 0 || mayRaisePriority(input.decision.priority, input.lastSet);
    if (!attempt.reconcile && !changes && (await watch.knownOpen(ticketId))) return undefined;
    try {
      const { data } = await http.request(`read ticket ${ticketId}`, 'GET', `/tickets/${enc(ticketId)}`, FdTicket);
      return data.deleted ? 'deleted' : data;
    } catch (err) {
      if (isNotFound(err)) return 'deleted';
      throw err;
    }
  }

  /** Writes the message onto the ticket, or says why the ticket cannot take it. */
  async function writeToTicket(ticketId: string, input: TicketInput, requester: RequesterRef, attempt: AttemptContext): Promise<'written' | 'closed' | 'deleted'> {
    const ticket = await readIfNeeded(ticketId, input, attempt);
    if (ticket === 'deleted') return 'deleted';
    // Freshdesk would take a note on a closed ticket, but nobody looks there any more.
    if (ticket?.status === STATUS.closed) return 'closed';

    const marker = input.message.id;
    const fitted = fitAttachments(input.files, options.maxAttachmentBytes);
    const html = messageHtml(input, input.files);
    const privateMessage = input.private ? { html, private: true, files: fitted.files } : undefined;
    let conversations: FdConversation[] | undefined;
    let written = false;
    if (attempt.reconcile) {
      conversations = await listConversations(http, ticketId);
      written = conversationWithMarker(conversations, marker) !== undefined;
      if (written) log.info({ ticketId, messageId: marker }, 'an earlier attempt added the message; not adding it again');
    }
    if (!written && !privateMessage) {
      try {
        await writeNote(ticketId, { html: withMarker(html, marker, input.message.channel.id), private: false, fromRequester: requester.id, files: fitted.files });
      } catch (err) {
        if (!ticket && isNotFound(err)) return 'deleted';
        throw err;
      }
    }
    if (ticket) {
      try {
        if ((await updateAfterMessage(ticket, input)) === STATUS.open) await watch.sawOpen(ticketId);
      } catch (err) {
        const e = asDeliveryError(err);
        throw new DeliveryError(e.message, { kind: e.kind, status: e.status, retryAfterMs: e.retryAfterMs, detail: e.detail, ambiguous: true, cause: e });
      }
    }
    await addNotes(ticketId, [...input.notes, ...fitted.notes], marker, { conversations, privateMessage });
    return 'written';
  }

  return {
    kind: 'freshdesk',

    upsertRequester: (sender, channel, _attempt, customer) => upsertCustomerContact(http, ctx.kv, contactIdentity(sender, channel), customer),
    addIdentities: (requesterId, customer) => addContactIdentities(http, requesterId, customer),

    createTicket,

    async appendMessage(ticketId, input, requester, attempt) {
      const outcome = await writeToTicket(ticketId, input, requester, attempt);
      if (outcome === 'written') return ref(ticketId, requester.id);
      log.info({ ticketId, outcome }, 'the ticket cannot take the message; opening a new ticket');
      return createTicket({ ...input, followUpOf: outcome === 'closed' ? ticketId : undefined }, requester, attempt);
    },

    addPrivateNote,

    recordRating: (ticketId, rating, attempt) =>
      recordRating({ http, options, log, addNote: (text) => addPrivateNote(ticketId, text, attempt) }, ticketId, rating, attempt),

    async addTags(ticketId, tags) {
      let ticket: FdTicket;
      try {
        ({ data: ticket } = await http.request(`read ticket ${ticketId}`, 'GET', `/tickets/${enc(ticketId)}`, FdTicket));
      } catch (err) {
        if (!isNotFound(err)) throw err;
        ticket = { id: Number(ticketId), deleted: true };
      }
      if (ticket.deleted) {
        log.info({ ticketId }, 'the ticket is gone; no tags added');
        return;
      }
      // Freshdesk's update replaces the list: send what it has plus what is new.
      const existing = ticket.tags ?? [];
      const added = tagsMissing(existing, freshdeskTags(tags));
      if (added.length === 0) return;
      await http.request(`add tags to ticket ${ticketId}`, 'PUT', `/tickets/${enc(ticketId)}`, FdTicket, { json: { tags: [...existing, ...added] }, endpoint: 'tickets:update' });
    },

    agentEventGuard: agentEventGuard(options),

    async verifyAgentEvent(req) {
      const result = ticketIdsFromEvent(req.body);
      // An agent did something on these tickets (replied, changed the status): look before writing again.
      if (result.ok) for (const id of [...result.ticketIds, ...(result.solved ?? []).map((t) => t.ticketId)]) await watch.changed(id);
      return result;
    },

    listAgentReplies: (ticketId) => listAgentReplies(http, ticketId),
    fetchAttachment: (url) => http.download(url, options.attachments),

    async check() {
      const { data } = await http.request('check the API key', 'GET', '/agents/me', FdMe);
      return `authenticated as ${data.contact?.name ?? '?'} <${data.contact?.email ?? '?'}> at ${http.baseUrl}`;
    },
  };
}
