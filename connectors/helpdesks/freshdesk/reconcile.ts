import { FdConversations, FdTicket, FdTickets, type FdConversation } from './api.ts';
import type { FreshdeskHttp } from './http.ts';
import { hasMarker } from './ticket-fields.ts';

/** Only the requester's newest tickets can be a create whose answer was lost. */
const MAX_CANDIDATES = 5;
const MAX_PAGES = 50;

export async function listConversations(http: FreshdeskHttp, ticketId: string): Promise<FdConversation[]> {
  return http.list(`list conversations of ticket ${ticketId}`, `/tickets/${encodeURIComponent(ticketId)}/conversations`, FdConversations, { maxPages: MAX_PAGES });
}

export const conversationWithMarker = (conversations: FdConversation[], marker: string): FdConversation | undefined =>
  conversations.find((c) => hasMarker(c.body, marker) || hasMarker(c.body_text, marker));

/**
 * The ticket an earlier attempt created for this message, if it exists. Freshdesk has no
 * idempotency key: the requester's newest tickets with the same subject are read, and the one
 * whose description carries the message's marker is it.
 */
export async function findCreatedTicket(http: FreshdeskHttp, requesterId: string, subject: string, marker: string): Promise<FdTicket | undefined> {
  const { data } = await http.request('list the requester\'s tickets', 'GET', '/tickets', FdTickets, {
    query: { requester_id: requesterId, order_by: 'created_at', order_type: 'desc', per_page: '30' },
    endpoint: 'tickets:list',
  });
  const candidates = data.filter((t) => !t.subject || t.subject === subject).sort((a, b) => b.id - a.id).slice(0, MAX_CANDIDATES);
  for (const candidate of candidates) {
    const { data: ticket } = await http.request(`read ticket ${candidate.id}`, 'GET', `/tickets/${candidate.id}`, FdTicket);
    if (hasMarker(ticket.description, marker) || hasMarker(ticket.description_text, marker)) return ticket;
  }
  return undefined;
}
