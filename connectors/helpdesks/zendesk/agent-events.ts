import { createHmac } from 'node:crypto';
import { z } from 'zod';
import type { AgentEventResult, HttpResponse, InboundRequest, RouteGuard } from '../../../src/core/connector.ts';
import { jsonBody } from '../../../src/core/safe-parse.ts';
import { secretMatches } from '../../../src/kit/inbound/secret-matches.ts';
import { eventTags, tagList } from '../../../src/kit/inbound/tag-list.ts';

export const SIGNATURE_HEADER = 'x-zendesk-webhook-signature';
export const TIMESTAMP_HEADER = 'x-zendesk-webhook-signature-timestamp';
export const COMMENT_ADDED = 'zen:event-type:ticket.comment_added';
export const STATUS_CHANGED = 'zen:event-type:ticket.status_changed';

export interface AgentEventAuth {
  webhookSecret?: string;
  webhookReplayWindowSec: number;
  agentReplyAuth?: { header: string; value: string };
}

/** Zendesk's signature: base64(HMAC-SHA256(secret, timestamp + raw body)). */
export function zendeskSignature(secret: string, timestamp: string, rawBody: Buffer | string): string {
  return createHmac('sha256', secret).update(timestamp).update(rawBody).digest('base64');
}

type Denied = { ok: false; status: number; error: string };
const deny = (status: number, error: string): Denied => ({ ok: false, status, error });
const refused = (error: string): HttpResponse => ({ status: 401, body: { error } });

/**
 * Every configured check must pass, and at least one must be configured. The headers are checked
 * before the body is read; the signature (over timestamp + raw body) before it is parsed.
 */
export function agentEventGuard(auth: AgentEventAuth, now: () => number = Date.now): RouteGuard {
  return {
    head(req) {
      if (!auth.webhookSecret && !auth.agentReplyAuth) {
        return refused('agent replies are not enabled: set helpdesk.webhookSecret to the webhook signing secret');
      }
      if (auth.agentReplyAuth) {
        const got = req.headers[auth.agentReplyAuth.header.toLowerCase()];
        if (got === undefined) return refused(`missing ${auth.agentReplyAuth.header.toLowerCase()} header`);
        if (!secretMatches(got, auth.agentReplyAuth.value)) return refused(`wrong ${auth.agentReplyAuth.header.toLowerCase()} header`);
      }
      if (auth.webhookSecret) {
        if (!req.headers[SIGNATURE_HEADER]) return refused(`missing ${SIGNATURE_HEADER} header`);
        if (!req.headers[TIMESTAMP_HEADER]) return refused(`missing ${TIMESTAMP_HEADER} header`);
      }
      return undefined;
    },
    body(req, raw) {
      if (!auth.webhookSecret) return undefined;
      const timestamp = req.headers[TIMESTAMP_HEADER] ?? '';
      if (!secretMatches(req.headers[SIGNATURE_HEADER], zendeskSignature(auth.webhookSecret, timestamp, raw))) {
        return refused('webhook signature does not match: check helpdesk.webhookSecret against the webhook signing secret');
      }
      const at = Date.parse(timestamp);
      if (Number.isNaN(at)) return refused(`${TIMESTAMP_HEADER} is not a time`);
      if (Math.abs(now() - at) > auth.webhookReplayWindowSec * 1000) {
        return refused(`webhook signed at ${timestamp.slice(0, 40)}, outside the ${auth.webhookReplayWindowSec} s replay window`);
      }
      return undefined;
    },
  };
}

const TicketNumber = z.union([z.number().int().positive(), z.string().trim().regex(/^\d+$/)]);
const TRIGGER_HINT = 'the trigger body must be {"ticket_id":"{{ticket.id}}","tags":"{{ticket.tags}}"}';

/** Zendesk's event-subscription format: `type` names the event, `detail` is the ticket (its id, its tags). */
const EventEnvelope = z.looseObject({ type: z.string().startsWith('zen:event-type:') });
const EventBody = z.looseObject({
  type: z.string(),
  detail: z.looseObject({ id: TicketNumber, tags: z.array(z.string()).nullish() }),
  event: z.looseObject({ current: z.string().nullish() }).nullish(),
});
/**
 * The trigger bodies admins paste (docs/zendesk.md): agent replies, with the ticket's tags so no read is
 * needed for them (a `reply_via_` tag chooses the channel), and (for the rating question) `"event": "solved"`.
 */
const TriggerBody = z.looseObject({ ticket_id: TicketNumber, event: z.string().optional(), tags: z.string().optional() });

function valueAt(body: unknown, path: PropertyKey[]): unknown {
  let v = body;
  for (const key of path) v = typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[key] : undefined;
  return v;
}

function fieldError(body: unknown, error: z.ZodError): string {
  const path = error.issues[0]?.path ?? [];
  if (path.length === 0) return 'body must be a JSON object';
  const field = path.map(String).join('.') || 'body';
  return valueAt(body, path) === undefined ? `${field} is missing` : `${field} must be a ticket number`;
}

const withTags = (result: AgentEventResult & { ok: true }, tags: string[] | undefined): AgentEventResult => (tags ? { ...result, tags } : result);

/** Which tickets to sync, from a webhook body the guard let through. */
export function ticketIdsFromEvent(req: Pick<InboundRequest, 'headers' | 'rawBody' | 'body'>): AgentEventResult {
  const json = jsonBody(req);
  if (!json.ok) return deny(400, `${json.field} ${json.error}: ${TRIGGER_HINT}`);
  const body = json.value;
  if (EventEnvelope.safeParse(body).success) {
    const parsed = EventBody.safeParse(body);
    if (!parsed.success) return deny(400, fieldError(body, parsed.error));
    const ticketId = String(parsed.data.detail.id).trim();
    if (parsed.data.type === STATUS_CHANGED && parsed.data.event?.current?.toLowerCase() === 'solved') {
      return { ok: true, ticketIds: [], solved: [{ ticketId, tags: (parsed.data.detail.tags ?? []).slice(0, 100) }] };
    }
    // Other ticket events are acknowledged and ignored: only a new comment can be an agent reply.
    if (parsed.data.type !== COMMENT_ADDED) return { ok: true, ticketIds: [] };
    return withTags({ ok: true, ticketIds: [ticketId] }, eventTags(parsed.data.detail.tags));
  }
  const parsed = TriggerBody.safeParse(body);
  if (!parsed.success) return deny(400, `${fieldError(body, parsed.error)} (${TRIGGER_HINT})`);
  const ticketId = String(parsed.data.ticket_id).trim();
  if (parsed.data.event === 'solved') return { ok: true, ticketIds: [], solved: [{ ticketId, tags: tagList(parsed.data.tags) }] };
  return withTags({ ok: true, ticketIds: [ticketId] }, eventTags(parsed.data.tags, parsed.data.reply_via));
}
