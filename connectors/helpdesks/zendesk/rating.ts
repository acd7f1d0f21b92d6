import { z } from 'zod';
import type { AttemptContext, Logger, RatingInput } from '../../../src/core/connector.ts';
import { asDeliveryError } from '../../../src/core/errors.ts';
import { TicketResponse } from './api.ts';
import type { ZendeskHttp } from './http.ts';
import type { ZendeskOptions } from './options.ts';
import { hasMarker, listAudits } from './reconcile.ts';
import { ticketRouting } from './ticket-fields.ts';

export interface RatingDeps {
  http: ZendeskHttp;
  /** Authenticated with `csatImpersonationToken`: requests made as the ticket's requester. */
  asRequester?: ZendeskHttp;
  options: Pick<ZendeskOptions, 'groups' | 'fields' | 'types' | 'csatGoodFrom'>;
  log: Logger;
}

/**
 * The rating on a Zendesk ticket: the tag, the field and the private note in one update (its audit
 * carries the job's marker, so a retry that finds it writes nothing), then, when an impersonation
 * token is configured, Zendesk's own satisfaction rating (legacy CSAT: good or bad) made as the
 * requester. Zendesk accepts ratings only from the requester; accounts on the newer CSAT surveys
 * take none through the API, so for them the tag, field and note are the record.
 */
export async function recordRating(deps: RatingDeps, ticketId: string, rating: RatingInput, attempt: AttemptContext): Promise<void> {
  const path = `/tickets/${encodeURIComponent(ticketId)}`;
  const marker = { note_id: attempt.idempotencyKey };
  const routing = ticketRouting({ tags: rating.tags, fields: rating.fields, replies: [], notify: [], firedRules: [] }, deps.options);
  if (!(attempt.reconcile && hasMarker(await listAudits(deps.http, ticketId), marker))) {
    const ticket = {
      comment: { body: rating.note, public: false },
      additional_tags: routing.tags,
      ...(routing.custom_fields ? { custom_fields: routing.custom_fields } : {}),
      metadata: { switchboard: marker },
    };
    await deps.http.request(`record the rating on ticket ${ticketId}`, 'PUT', path, TicketResponse, { json: { ticket } });
  }
  if (!deps.asRequester) return;
  const score = rating.score >= deps.options.csatGoodFrom ? 'good' : 'bad';
  try {
    await deps.asRequester.request(`satisfaction rating of ticket ${ticketId}`, 'POST', `${path}/satisfaction_rating`, z.looseObject({}), {
      json: { satisfaction_rating: { score } },
      headers: { 'x-on-behalf-of': rating.requesterId },
    });
  } catch (err) {
    const e = asDeliveryError(err);
    if (e.kind !== 'permanent') throw e;
    // The tag and the note are on the ticket; a refused native rating (CSAT off, a new-CSAT account) costs nothing else.
    deps.log.warn({ ticketId, error: e.message, detail: e.detail }, 'Zendesk did not take the satisfaction rating; the tag and note stand');
  }
}
