import type { AttemptContext, Logger, RatingInput } from '../../../src/core/connector.ts';
import { asDeliveryError } from '../../../src/core/errors.ts';
import { FdSatisfactionRating, FdSatisfactionRatings, FdTicket } from './api.ts';
import type { FreshdeskHttp } from './http.ts';
import type { FreshdeskOptions } from './options.ts';
import { freshdeskTags, ticketRouting } from './ticket-fields.ts';

export interface RatingDeps {
  http: FreshdeskHttp;
  options: Pick<FreshdeskOptions, 'groups' | 'fields' | 'types' | 'csatRatings' | 'csatScale'>;
  log: Logger;
  /** The connector's private note, with its marker (a retry that finds it writes nothing). */
  addNote(text: string): Promise<void>;
}

/**
 * The rating on a Freshdesk ticket: Freshdesk's own satisfaction rating (its API takes one from an
 * agent's key), the tag and field, and the private note. A retry looks at the ticket's ratings
 * before posting another; a refused rating (no survey on the account) costs only itself.
 */
export async function recordRating(deps: RatingDeps, ticketId: string, rating: RatingInput, attempt: AttemptContext): Promise<void> {
  const path = `/tickets/${encodeURIComponent(ticketId)}`;
  const { http, options } = deps;
  if (options.csatRatings) {
    const value = options.csatScale[rating.score - 1]!;
    try {
      const exists = attempt.reconcile && (await http.request(`read the ratings of ticket ${ticketId}`, 'GET', `${path}/satisfaction_ratings`, FdSatisfactionRatings)).data.length > 0;
      if (!exists) {
        await http.request(`satisfaction rating of ticket ${ticketId}`, 'POST', `${path}/satisfaction_ratings`, FdSatisfactionRating, { json: { ratings: { default_question: value } } });
      }
    } catch (err) {
      const e = asDeliveryError(err);
      if (e.kind !== 'permanent') throw e;
      deps.log.warn({ ticketId, error: e.message, detail: e.detail }, 'Freshdesk did not take the satisfaction rating; the tag and note stand');
    }
  }
  const routing = ticketRouting({ tags: rating.tags, fields: rating.fields, replies: [], notify: [], firedRules: [] }, options, undefined);
  const { data: ticket } = await http.request(`read ticket ${ticketId}`, 'GET', path, FdTicket);
  const existing = ticket.tags ?? [];
  const added = freshdeskTags(routing.tags).filter((t) => !existing.some((x) => x.toLowerCase() === t.toLowerCase()));
  if (added.length > 0 || routing.custom_fields) {
    const update = { ...(added.length > 0 ? { tags: [...existing, ...added] } : {}), ...(routing.custom_fields ? { custom_fields: routing.custom_fields } : {}) };
    await http.request(`tag the rating on ticket ${ticketId}`, 'PUT', path, FdTicket, { json: update, endpoint: 'tickets:update' });
  }
  await deps.addNote(rating.note);
}
