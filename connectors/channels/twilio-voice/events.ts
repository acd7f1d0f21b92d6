import type { CallEvent, CallOutcome } from '../../../src/kit/telephony/call-tracker.ts';

/** Twilio's webhook parameters (form fields), turned into the generic call events. */
export type Params = Record<string, string | undefined>;

export function directionOf(d: string | undefined): 'inbound' | 'outbound' | undefined {
  if (!d) return undefined;
  return d === 'inbound' ? 'inbound' : d.startsWith('outbound') ? 'outbound' : undefined;
}

function seconds(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}

function party(p: Params, at: string): Pick<CallEvent, 'at' | 'direction' | 'from' | 'to' | 'callerName'> {
  return { at, direction: directionOf(p['Direction']), from: p['From'], to: p['To'], callerName: p['CallerName'] || undefined };
}

const FINAL: Record<string, CallOutcome> = {
  completed: 'connected',
  busy: 'busy',
  'no-answer': 'no-answer',
  canceled: 'canceled',
  failed: 'failed',
};

/** The incoming-call request (Voice URL). */
export function incomingEvents(p: Params, at: string): CallEvent[] {
  return [{ ...party(p, at), type: 'ringing' }];
}

/** `<Dial action>`: did an agent take the call? */
export function dialEvents(p: Params, at: string): { answered: boolean; events: CallEvent[] } {
  const status = p['DialCallStatus'] ?? '';
  const answered = status === 'completed' || status === 'answered';
  return {
    answered,
    events: answered ? [{ ...party(p, at), type: 'answered', durationSec: seconds(p['DialCallDuration']) }] : [{ ...party(p, at), type: 'dialed' }],
  };
}

/**
 * Status callbacks. An agent's leg (it has a ParentCallSid) answering means the customer's call
 * was answered by that agent; the customer's own leg reports progress, ordered by SequenceNumber.
 */
export function statusEvents(p: Params, at: string, agentHint: string | undefined): { callId: string; events: CallEvent[] } | undefined {
  const status = p['CallStatus'] ?? '';
  const seq = seconds(p['SequenceNumber']);
  const parent = p['ParentCallSid'];
  if (parent) {
    if (status !== 'in-progress' && status !== 'answered') return undefined;
    return { callId: parent, events: [{ at, type: 'answered', agent: agentHint ?? p['To'] }] };
  }
  const callId = p['CallSid']!;
  const base = { ...party(p, at), ...(seq !== undefined ? { seq } : {}) };
  if (status in FINAL) return { callId, events: [{ ...base, type: 'ended', outcome: FINAL[status], durationSec: seconds(p['CallDuration']) }] };
  if (status === 'in-progress' && directionOf(p['Direction']) === 'outbound') return { callId, events: [{ ...base, type: 'answered' }] };
  return { callId, events: [{ ...base, type: 'ringing' }] };
}
