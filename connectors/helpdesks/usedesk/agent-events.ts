import type { AgentEventResult, InboundRequest } from '../../../src/core/connector.ts';
import { isRecord, poisonedKey } from '../../../src/core/safe-parse.ts';
import { secretMatches } from '../../../src/kit/inbound/secret-matches.ts';

type Denied = { ok: false; status: number; error: string };
const deny = (status: number, error: string): Denied => ({ ok: false, status, error });

/**
 * A form-encoded webhook (`comment[ticket_id]=…`) as the nested object the JSON one is: built
 * of null-prototype objects, and a key part that could reach a prototype is refused (the secret
 * sits in this body, so this runs before anything is verified).
 */
function nest(flat: Record<string, unknown>): { ok: true; value: Record<string, unknown> } | Denied {
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [key, value] of Object.entries(flat)) {
    if (poisonedKey(key) !== undefined) return deny(400, `${key.slice(0, 100)} is a key that is not accepted`);
    const parts = key.split(/\[|\]\[|\]/).filter(Boolean);
    let node = out;
    for (const part of parts.slice(0, -1)) {
      node = (isRecord(node[part]) ? node[part] : (node[part] = Object.create(null))) as Record<string, unknown>;
    }
    node[parts.at(-1) ?? key] = value;
  }
  return { ok: true, value: out };
}

const ticketNumber = (v: unknown): string | undefined =>
  (typeof v === 'number' && Number.isInteger(v) && v > 0) || (typeof v === 'string' && /^\d+$/.test(v.trim())) ? String(v).trim() : undefined;

export interface UsedeskEvent {
  /** Tickets to read for new agent replies. */
  ticketIds: string[];
  /** Tickets whose status changed (a `trigger` webhook): the gateway reads them before it writes there again. */
  changed?: string[];
  /** Tickets a status change made solved (2) or closed (3): the rating question. */
  solved?: string[];
  /** A chat webhook: the chat, its ticket when Usedesk says, and whether an agent wrote. */
  chat?: { chatId: string; ticketId?: string; fromAgent: boolean };
}

/**
 * Usedesk's webhooks carry no signature: the body's `secret` (the API channel's token) is the
 * proof. Only an agent's (`from: user`) public comment, or an agent's chat message, asks for a
 * read; a status change is noted (the next follow-up reads the ticket), and one to solved or
 * closed reports the ticket solved; every other event (new ticket, rating) is acknowledged and
 * ignored.
 */
export function verifyUsedeskEvent(req: InboundRequest, secret: string): (AgentEventResult & { ok: false }) | { ok: true; event: UsedeskEvent } {
  const raw = req.body;
  if (!isRecord(raw)) return deny(400, 'body must be the JSON (or form) Usedesk sends');
  const nested = Object.keys(raw).some((k) => k.includes('[')) ? nest(raw) : { ok: true as const, value: raw };
  if (!nested.ok) return nested;
  const body = nested.value;
  if (typeof body.secret !== 'string' || body.secret === '') return deny(401, 'missing secret');
  if (!secretMatches(body.secret, secret)) return deny(401, 'wrong secret: check helpdesk.webhookSecret (the API channel token)');
  if (body.comment !== undefined && !isRecord(body.comment)) return deny(400, 'comment must be an object');
  if (isRecord(body.comment)) {
    const c = body.comment;
    if (c.from !== 'user' || c.type !== 'public') return { ok: true, event: { ticketIds: [] } };
    const id = ticketNumber(c.ticket_id);
    return id ? { ok: true, event: { ticketIds: [id] } } : deny(400, 'comment.ticket_id must be a ticket number');
  }
  if (isRecord(body.trigger)) {
    const t = body.trigger;
    const id = ticketNumber(t.ticket_id);
    if (!id) return deny(400, 'trigger.ticket_id must be a ticket number');
    const solved = t.new_status === 2 || t.new_status === 3 || t.new_status === '2' || t.new_status === '3';
    return { ok: true, event: { ticketIds: [], changed: [id], ...(solved ? { solved: [id] } : {}) } };
  }
  if (body.chat_id !== undefined) {
    const chatId = ticketNumber(body.chat_id);
    if (!chatId) return deny(400, 'chat_id must be a number');
    const ticketId = isRecord(body.ticket) ? ticketNumber(body.ticket.id) : undefined;
    const fromAgent = body.from === 'user';
    return { ok: true, event: { ticketIds: fromAgent && ticketId ? [ticketId] : [], chat: { chatId, ticketId, fromAgent } } };
  }
  return { ok: true, event: { ticketIds: [] } };
}
