import { z } from 'zod';
import type { CallEvent, CallOutcome } from '../../../src/kit/telephony/call-tracker.ts';

/**
 * One request of the generic CTI API (Zammad's `/api/v1/cti/:token` format): `newCall`,
 * `answer` or `hangup`, with callId, from, to, direction (in|out), user, cause.
 */
const text = z.union([z.string(), z.number()], { error: (iss) => (iss.input === undefined ? 'is required' : 'must be text or a number') })
  .transform(String)
  // A call id or a number is short: a longer one would only become an oversized key in the call's state.
  .pipe(z.string().max(1000, 'is longer than 1000 characters'));

export const CtiRequest = z.object({
  event: z.enum(['newCall', 'answer', 'hangup'], { error: 'must be newCall, answer or hangup' }),
  callId: text.pipe(z.string().min(1, 'is empty')),
  from: text,
  to: text,
  direction: z.enum(['in', 'out'], { error: 'must be in or out' }),
  user: z.union([z.string(), z.array(z.string())]).optional(),
  queue: text.optional(),
  cause: z.string().optional(),
  answeringNumber: text.optional(),
});
export type CtiRequest = z.infer<typeof CtiRequest>;

/** Zammad accepts `call_id` for `callId`. */
export function withAliases(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const b = body as Record<string, unknown>;
  return b['callId'] === undefined && b['call_id'] !== undefined ? { ...b, callId: b['call_id'] } : b;
}

const CAUSES: Record<string, CallOutcome> = {
  normalClearing: 'connected',
  busy: 'busy',
  cancel: 'canceled',
  noAnswer: 'no-answer',
  congestion: 'failed',
  notFound: 'failed',
  forwarded: 'forwarded',
};

function users(u: CtiRequest['user']): string | undefined {
  const list = (Array.isArray(u) ? u : u === undefined ? [] : [u]).map((s) => s.trim()).filter(Boolean);
  return list.length > 0 ? list.join(', ') : undefined;
}

export function toCallEvents(r: CtiRequest, at: string): CallEvent[] {
  const party = { direction: r.direction === 'in' ? 'inbound' as const : 'outbound' as const, from: r.from, to: r.to, at };
  switch (r.event) {
    case 'newCall':
      // Inbound: the PBX rings agents (`user` are the ones rung, not who answers). Outbound: `user` is the caller.
      return [{ ...party, type: 'ringing' }, { ...party, type: 'dialed', agent: r.direction === 'out' ? users(r.user) : undefined }];
    case 'answer':
      return [{ ...party, type: 'answered', agent: users(r.user) ?? r.answeringNumber }];
    case 'hangup':
      return [{ ...party, type: 'ended', outcome: r.cause !== undefined && Object.hasOwn(CAUSES, r.cause) ? CAUSES[r.cause]! : 'unknown' }];
  }
}
