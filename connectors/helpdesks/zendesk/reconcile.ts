import { AuditsPage, nextPageOf, TicketsResponse, type ZdAudit, type ZdTicket } from './api.ts';
import type { ZendeskHttp } from './http.ts';

/**
 * Every write carries `metadata: { switchboard: Marker }`; Zendesk keeps it in the audit's
 * `metadata.custom`. Finding the marker later proves the write happened.
 */
export type Marker = { message_id: string } | { note_id: string };

const MAX_PAGES = 50;
/** Tickets of one conversation share an external_id; only the newest few can be a lost create. */
const MAX_CANDIDATES = 5;

export async function listAudits(http: ZendeskHttp, ticketId: string): Promise<ZdAudit[]> {
  const audits: ZdAudit[] = [];
  let next: string | undefined = `/tickets/${encodeURIComponent(ticketId)}/audits`;
  for (let page = 0; next && page < MAX_PAGES; page++) {
    const { data } = await http.request(`list audits of ticket ${ticketId}`, 'GET', next, AuditsPage);
    audits.push(...data.audits);
    next = nextPageOf(data);
  }
  return audits;
}

export function hasMarker(audits: ZdAudit[], marker: Marker): boolean {
  const [key, value] = Object.entries(marker)[0]!;
  return audits.some((audit) => {
    const custom = audit.metadata?.custom;
    if (typeof custom !== 'object' || custom === null) return false;
    const ours = (custom as Record<string, unknown>).switchboard;
    return typeof ours === 'object' && ours !== null && (ours as Record<string, unknown>)[key] === value;
  });
}

/** The ticket an earlier attempt created for this message, if it exists: external_id narrows, the audit marker proves. */
export async function findCreatedTicket(
  http: ZendeskHttp,
  externalId: string,
  marker: Marker,
): Promise<{ ticket: ZdTicket; audits: ZdAudit[] } | undefined> {
  const { data } = await http.request('look up tickets by external_id', 'GET', '/tickets', TicketsResponse, {
    query: { external_id: externalId },
  });
  const candidates = [...data.tickets].sort((a, b) => b.id - a.id).slice(0, MAX_CANDIDATES);
  for (const ticket of candidates) {
    const audits = await listAudits(http, String(ticket.id));
    if (hasMarker(audits, marker)) return { ticket, audits };
  }
  return undefined;
}
