import type { AttemptContext, RatingInput } from '../../../src/core/connector.ts';
import { Done, tagNames, type TicketCard } from './api.ts';
import type { UsedeskHttp } from './http.ts';
import type { UsedeskOptions } from './options.ts';
import { ticketRouting, usedeskTags } from './ticket-fields.ts';

export interface RatingDeps {
  http: UsedeskHttp;
  options: Pick<UsedeskOptions, 'groups' | 'fields' | 'types'>;
  readTicket(ticketId: string): Promise<TicketCard>;
  /** The connector's private note, with its marker (a retry that finds it writes nothing). */
  addNote(text: string): Promise<void>;
}

/**
 * The rating on a Usedesk ticket: the tag and field (update/ticket), then the private note.
 * Usedesk's own ratings (CSI) come from its survey; its API has no call to write one, so the tag,
 * field and note are the record.
 */
export async function recordRating(deps: RatingDeps, ticketId: string, rating: RatingInput, _attempt: AttemptContext): Promise<void> {
  const routing = ticketRouting({ tags: rating.tags, fields: rating.fields, replies: [], notify: [], firedRules: [] }, deps.options);
  const existing = tagNames(await deps.readTicket(ticketId));
  const added = usedeskTags(routing.tags).filter((t) => !existing.some((x) => x.toLowerCase() === t.toLowerCase()));
  if (added.length > 0 || routing.field_id) {
    const update = {
      ticket_id: Number(ticketId),
      ...(added.length > 0 ? { tag: [...existing, ...added].join(', ') } : {}),
      ...(routing.field_id ? { field_id: routing.field_id, field_value: routing.field_value } : {}),
    };
    await deps.http.call(`tag the rating on ticket ${ticketId}`, '/update/ticket', update, Done);
  }
  await deps.addNote(rating.note);
}
