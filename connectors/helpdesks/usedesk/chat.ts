import { z } from 'zod';
import type { AttemptContext, FetchedFile, KeyValueStore, Logger, RequesterRef, TicketInput, TicketRef } from '../../../src/core/connector.ts';
import { DeliveryError } from '../../../src/core/errors.ts';
import { ChatAdded, ClientCard, type TicketCard } from './api.ts';
import { isTicketGone } from './errors.ts';
import type { UsedeskHttp } from './http.ts';

/**
 * Chat mode: customer messages go into a Usedesk chat channel through `/chat/addMessage`, so
 * agents answer them as a live chat. Usedesk names a new chat's ticket later (the answer says
 * `ticket_id: null`), so until it is known the conversation is linked as `chat-<chat id>`; the
 * client's newest chat ticket, a later answer or a chat webhook tells the ticket, and private
 * notes and files wait for it. The chat API has no correlation id: a message is remembered as
 * sent once Usedesk answered, but one whose answer was lost is sent again (it may show twice).
 */

export interface ChatMode {
  create(input: TicketInput, requester: RequesterRef, attempt: AttemptContext): Promise<TicketRef>;
  /** Sends a follow-up into the ticket's chat; undefined when the ticket has no chat (made in the API channel). */
  append(ticketId: string, input: TicketInput, requester: RequesterRef, attempt: AttemptContext): Promise<TicketRef | undefined>;
  /** The Usedesk ticket behind a linked id (`chat-<id>` until Usedesk names it). */
  ticketOf(linkedId: string): Promise<string | undefined>;
  learn(chatId: string, ticketId: string): Promise<void>;
}

export interface ChatDeps {
  http: UsedeskHttp;
  kv: KeyValueStore;
  log: Logger;
  chat: { channelId: number; companyId: number };
  readTicket(ticketId: string): Promise<TicketCard>;
  writeComment(ticketId: string, html: string, how: { client: boolean; public: boolean; files?: FetchedFile[] }): Promise<void>;
  addNotes(ticketId: string, lines: string[], messageId: string): Promise<void>;
  ref(ticketId: string, requesterId: string): TicketRef;
}

const Sent = z.object({ chatId: z.string(), ticketId: z.string().optional() });
type Sent = z.infer<typeof Sent>;

function plainText(input: TicketInput): string {
  const texts = [input.message, ...input.extra].map((m) => m.text.trim()).filter(Boolean);
  if (texts.length > 0) return texts.join('\n');
  const names = [input.message, ...input.extra].flatMap((m) => m.attachments.map((a) => a.name));
  return names.length > 0 ? `(attachment: ${names.join(', ')})` : '(empty message)';
}

export function createChat(deps: ChatDeps): ChatMode {
  const { http, kv, chat } = deps;

  async function learn(chatId: string, ticketId: string): Promise<void> {
    await kv.set(`usedesk:chat-ticket:${chatId}`, ticketId, { keep: 'threads' });
    await kv.set(`usedesk:ticket-chat:${ticketId}`, chatId, { keep: 'threads' });
  }

  /** The client's newest ticket in the chat channel is the chat's. */
  async function findChatTicket(clientId: string): Promise<string | undefined> {
    const client = await http.call('read client', '/client', { client_id: Number(clientId) }, ClientCard, { wrote: false });
    for (const id of [...(client.tickets ?? [])].sort((a, b) => b - a).slice(0, 3)) {
      const card = await deps.readTicket(String(id));
      if (card.ticket.channel_id === chat.channelId) return String(id);
    }
    return undefined;
  }

  /** Posts the message unless this delivery already did; remembers that it did. */
  async function post(input: TicketInput, requester: RequesterRef, attempt: AttemptContext, chatId?: string): Promise<Sent> {
    const key = `usedesk:chat-sent:${attempt.idempotencyKey}`;
    const earlier = Sent.safeParse(JSON.parse((await kv.get(key)) ?? 'null'));
    if (earlier.success) return earlier.data;
    const answer = await http.call('post to the chat', '/chat/addMessage', {
      company_id: chat.companyId,
      channel_id: chat.channelId,
      ...(chatId ? { chat_id: Number(chatId) } : {}),
      message: { text: plainText(input), from: { client_id: Number(requester.id) } },
    }, ChatAdded);
    const sent: Sent = { chatId: String(answer.chat_id), ...(answer.ticket_id ? { ticketId: String(answer.ticket_id) } : {}) };
    await kv.set(key, JSON.stringify(sent), { keep: 'sent' });
    return sent;
  }

  /** Files and notes go on the chat's ticket; they wait (a retry, the message is not sent again) until it is known. */
  async function finish(sent: Sent, input: TicketInput, requester: RequesterRef, attempt: AttemptContext, lines: string[]): Promise<TicketRef> {
    const ticketId = sent.ticketId ?? (await kv.get(`usedesk:chat-ticket:${sent.chatId}`)) ?? (await findChatTicket(requester.id));
    if (ticketId) await learn(sent.chatId, ticketId);
    const pending = input.files.length > 0 || lines.length > 0;
    if (!ticketId) {
      if (pending) throw new DeliveryError(`Usedesk has not told which ticket chat ${sent.chatId} is yet; its files and notes wait`, { kind: 'retry' });
      return deps.ref(`chat-${sent.chatId}`, requester.id);
    }
    const filesKey = `usedesk:chat-files:${attempt.idempotencyKey}`;
    if (input.files.length > 0 && !(await kv.get(filesKey))) {
      await deps.writeComment(ticketId, `<p>(${input.files.map((f) => f.name).join(', ')})</p>`, { client: true, public: true, files: input.files });
      await kv.set(filesKey, '1', { keep: 'sent' });
    }
    await deps.addNotes(ticketId, lines, input.message.id);
    return deps.ref(ticketId, requester.id);
  }

  return {
    learn,

    async ticketOf(linkedId) {
      if (!linkedId.startsWith('chat-')) return linkedId;
      return kv.get(`usedesk:chat-ticket:${linkedId.slice(5)}`);
    },

    async create(input, requester, attempt) {
      const sent = await post(input, requester, attempt);
      const lines = [...(input.followUpOf ? [`This conversation continues ticket #${input.followUpOf}.`] : []), ...input.notes];
      return finish(sent, input, requester, attempt, lines);
    },

    async append(ticketId, input, requester, attempt) {
      const chatId = ticketId.startsWith('chat-') ? ticketId.slice(5) : await kv.get(`usedesk:ticket-chat:${ticketId}`);
      if (!chatId) return undefined;
      let sent: Sent;
      try {
        sent = await post(input, requester, attempt, chatId);
      } catch (err) {
        if (!isTicketGone(err)) throw err;
        deps.log.info({ ticketId, chatId }, 'the chat is gone; opening a new one');
        return this.create({ ...input, followUpOf: ticketId }, requester, attempt);
      }
      // A known ticket stays linked; a `chat-<id>` link moves to the ticket once Usedesk names it.
      return finish({ ...sent, ticketId: sent.ticketId ?? (ticketId.startsWith('chat-') ? undefined : ticketId) }, input, requester, attempt, input.notes);
    },
  };
}
