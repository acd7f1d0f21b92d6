import { z } from 'zod';
import type { AgentEventResult, HttpResponse, RouteGuard } from '../../../src/core/connector.ts';
import { isRecord } from '../../../src/core/safe-parse.ts';
import { secretMatches } from '../../../src/kit/inbound/secret-matches.ts';
import { eventTags, tagList } from '../../../src/kit/inbound/tag-list.ts';
import type { FreshdeskOptions } from './options.ts';

type Denied = { ok: false; status: number; error: string };
const deny = (status: number, error: string): Denied => ({ ok: false, status, error });

const refused = (error: string): HttpResponse => ({ status: 401, body: { error } });

/**
 * Freshdesk's automation webhooks are not signed, so the rule must send the shared secret:
 * in a custom header, or as the password of basic auth. Checked before the body is read.
 */
export function agentEventGuard(o: Pick<FreshdeskOptions, 'webhookSecret' | 'webhookSecretHeader' | 'webhookUser'>): RouteGuard {
  const secretHeader = o.webhookSecretHeader.toLowerCase();
  return {
    head(req) {
      if (!o.webhookSecret) return refused('agent replies are not enabled: set helpdesk.webhookSecret and send it from the automation rule');
      const presented = req.headers[secretHeader];
      if (presented !== undefined) {
        return secretMatches(presented, o.webhookSecret) ? undefined : refused(`wrong ${secretHeader} header`);
      }
      const basic = /^Basic\s+(.+)$/i.exec(req.headers['authorization'] ?? '')?.[1];
      if (basic) {
        const decoded = Buffer.from(basic, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        const user = colon === -1 ? decoded : decoded.slice(0, colon);
        const password = colon === -1 ? '' : decoded.slice(colon + 1);
        // Both compared, always, so the time taken does not tell which one was wrong.
        const userOk = secretMatches(user, o.webhookUser);
        const passwordOk = secretMatches(password, o.webhookSecret);
        return userOk && passwordOk ? undefined : refused('wrong basic-auth credentials');
      }
      return refused(`missing ${secretHeader} header (or basic auth)`);
    },
  };
}

export const RULE_BODY = '{"ticket_id": "{{ticket.id}}", "tags": "{{ticket.tags}}"}';
const TicketNumber = z.union([z.number().int().positive(), z.string().trim().regex(/^#?\d+$/)]);
/** The body the docs give to paste, or Freshdesk's "simple" webhook content (`freshdesk_webhook: {ticket_id}`). */
const Body = z.union([
  // `event: solved` and `tags` come from the rule that reports a resolved ticket (the rating question).
  z.looseObject({ ticket_id: TicketNumber, event: z.string().optional(), tags: z.string().optional() }),
  z.looseObject({ freshdesk_webhook: z.looseObject({ ticket_id: TicketNumber }) }),
]);

/** Which ticket to sync, from a body the guard let through (JSON, or a form). */
export function ticketIdsFromEvent(body: unknown): AgentEventResult {
  if (!isRecord(body)) return deny(400, `body must be JSON like ${RULE_BODY}`);
  const parsed = Body.safeParse(body);
  if (!parsed.success) {
    const nested = body['freshdesk_webhook'];
    const given = body['ticket_id'] ?? (isRecord(nested) ? nested['ticket_id'] : undefined);
    const wrong = given === undefined ? 'ticket_id is missing' : TicketNumber.safeParse(given).success ? 'tags must be text' : 'ticket_id must be a ticket number';
    return deny(400, `${wrong} (the rule's body must be ${RULE_BODY})`);
  }
  const id = String('ticket_id' in parsed.data ? parsed.data.ticket_id : parsed.data.freshdesk_webhook.ticket_id).trim().replace(/^#/, '');
  if ('ticket_id' in parsed.data && parsed.data.event === 'solved') {
    return { ok: true, ticketIds: [], solved: [{ ticketId: id, tags: tagList(typeof parsed.data.tags === 'string' ? parsed.data.tags : undefined) }] };
  }
  // The ticket's tags (and a "reply via" field) come in the body the rule sends: no read is needed for them.
  const fields = 'ticket_id' in parsed.data ? parsed.data : parsed.data.freshdesk_webhook;
  const tags = eventTags(fields.tags, fields.reply_via);
  return { ok: true, ticketIds: [id], ...(tags ? { tags } : {}) };
}
