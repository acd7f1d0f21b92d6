import { z } from 'zod';
import type { AgentEventResult, InboundRequest } from '../../../src/core/connector.ts';
import { secretMatches } from '../../../src/kit/inbound/secret-matches.ts';
import { tagList } from '../../../src/kit/inbound/tag-list.ts';
import type { FreshdeskOptions } from './options.ts';

type Denied = { ok: false; status: number; error: string };
const deny = (status: number, error: string): Denied => ({ ok: false, status, error });

function header(req: InboundRequest, name: string): string | undefined {
  const lower = name.toLowerCase();
  const key = Object.keys(req.headers).find((k) => k.toLowerCase() === lower);
  return key ? req.headers[key] : undefined;
}

/**
 * Freshdesk's automation webhooks are not signed, so the rule must send the shared secret:
 * in a custom header, or as the password of basic auth.
 */
export function authenticateAgentEvent(req: InboundRequest, o: Pick<FreshdeskOptions, 'webhookSecret' | 'webhookSecretHeader' | 'webhookUser'>): Denied | undefined {
  if (!o.webhookSecret) return deny(401, 'agent replies are not enabled: set helpdesk.webhookSecret and send it from the automation rule');
  const presented = header(req, o.webhookSecretHeader);
  if (presented !== undefined) {
    return secretMatches(presented, o.webhookSecret) ? undefined : deny(401, `wrong ${o.webhookSecretHeader.toLowerCase()} header`);
  }
  const basic = /^Basic\s+(.+)$/i.exec(header(req, 'authorization') ?? '')?.[1];
  if (basic) {
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = colon === -1 ? decoded : decoded.slice(0, colon);
    const password = colon === -1 ? '' : decoded.slice(colon + 1);
    // Both compared, always, so the time taken does not tell which one was wrong.
    const userOk = secretMatches(user, o.webhookUser);
    const passwordOk = secretMatches(password, o.webhookSecret);
    return userOk && passwordOk ? undefined : deny(401, 'wrong basic-auth credentials');
  }
  return deny(401, `missing ${o.webhookSecretHeader.toLowerCase()} header (or basic auth)`);
}

export const RULE_BODY = '{"ticket_id": "{{ticket.id}}"}';
const TicketNumber = z.union([z.number().int().positive(), z.string().trim().regex(/^#?\d+$/)]);
/** The body the docs give to paste, or Freshdesk's "simple" webhook content (`freshdesk_webhook: {ticket_id}`). */
const Body = z.union([
  // `event: solved` and `tags` come from the rule that reports a resolved ticket (the rating question).
  z.looseObject({ ticket_id: TicketNumber, event: z.string().optional(), tags: z.string().optional() }),
  z.looseObject({ freshdesk_webhook: z.looseObject({ ticket_id: TicketNumber }) }),
]);

export function ticketIdsFromEvent(body: unknown): AgentEventResult {
  if (body === undefined || typeof body !== 'object' || body === null) return deny(400, `body must be JSON like ${RULE_BODY}`);
  const parsed = Body.safeParse(body);
  if (!parsed.success) {
    const given = (body as Record<string, unknown>).ticket_id ?? ((body as Record<string, unknown>).freshdesk_webhook as Record<string, unknown> | undefined)?.ticket_id;
    return deny(400, `${given === undefined ? 'ticket_id is missing' : 'ticket_id must be a ticket number'} (the rule's body must be ${RULE_BODY})`);
  }
  const id = String('ticket_id' in parsed.data ? parsed.data.ticket_id : parsed.data.freshdesk_webhook.ticket_id).trim().replace(/^#/, '');
  if ('ticket_id' in parsed.data && parsed.data.event === 'solved') {
    return { ok: true, ticketIds: [], solved: [{ ticketId: id, tags: tagList(typeof parsed.data.tags === 'string' ? parsed.data.tags : undefined) }] };
  }
  return { ok: true, ticketIds: [id] };
}

export function verifyFreshdeskEvent(req: InboundRequest, o: Pick<FreshdeskOptions, 'webhookSecret' | 'webhookSecretHeader' | 'webhookUser'>): AgentEventResult {
  return authenticateAgentEvent(req, o) ?? ticketIdsFromEvent(req.body);
}
