import type { ChannelContext, KeyValueStore, Logger } from '../../core/connector.ts';
import type { AttachmentRef, InboundDraft } from '../../core/message.ts';
import { KeyedLock } from '../keyed-lock.ts';
import { partyOf } from './phone.ts';

/**
 * What telephony channels have in common: a PBX or Twilio reports a call as a handful of
 * events, in any order and sometimes twice; this turns them into at most one message per
 * call outcome, recording and transcript. A missed inbound call is the caller's message (a
 * ticket, or a follow-up on their open one); an answered or outbound call is a private call
 * log on the customer's ticket. The conversation is the customer's phone number.
 */

/**
 * How a call ended. `connected` means the line was up, but not necessarily with a person:
 * it counts as answered when an agent answered, or when nothing says the call was offered to
 * agents or voicemail at all.
 */
export type CallOutcome = 'connected' | 'answered' | 'busy' | 'no-answer' | 'canceled' | 'failed' | 'forwarded' | 'unknown';

export interface CallEvent {
  type: 'ringing' | 'dialed' | 'answered' | 'voicemail' | 'ended' | 'recording' | 'transcript';
  /** The vendor's ordering counter (Twilio SequenceNumber): an event at or below the last one applied changes nothing. */
  seq?: number;
  at: string;
  direction?: 'inbound' | 'outbound';
  from?: string;
  to?: string;
  callerName?: string;
  agent?: string;
  outcome?: CallOutcome;
  /** Talk time (answered) or call duration (ended), in seconds. */
  durationSec?: number;
  recording?: { id: string; ref: AttachmentRef; durationSec?: number; voicemail?: boolean };
  transcript?: { id: string; text: string; voicemail?: boolean };
}

export interface CallState {
  direction?: 'inbound' | 'outbound';
  from?: string;
  to?: string;
  callerName?: string;
  agent?: string;
  startedAt?: string;
  /** Offered to agents (a Dial, a PBX ringing extensions). */
  dialed?: boolean;
  answered?: boolean;
  answeredAt?: string;
  talkSec?: number;
  voicemail?: boolean;
  ended?: { outcome: Exclude<CallOutcome, 'connected'>; durationSec?: number; at: string };
  lastSeq?: number;
}

export interface CallTrackerOptions {
  kv: KeyValueStore;
  accept: ChannelContext['accept'];
  log: Logger;
  /** `note`: answered and outbound calls become private call logs; `off`: only missed calls and voicemail are kept. */
  callLog: 'note' | 'off';
  /** Asks the vendor who was on a call we have no events for yet (a recording that arrived first). */
  lookup?: (callId: string) => Promise<Pick<CallState, 'direction' | 'from' | 'to'> | undefined>;
}

const MISSED_WORDS: Record<string, string> = {
  busy: 'busy',
  'no-answer': 'no answer',
  canceled: 'the caller hung up before anyone answered',
  failed: 'the call failed',
  unknown: 'not answered',
};

export class CallTracker {
  readonly #o: CallTrackerOptions;
  /** Events of one call one after another (read-modify-write of its state); other calls in parallel. */
  readonly #calls = new KeyedLock();

  constructor(o: CallTrackerOptions) {
    this.#o = o;
  }

  /** Applies one webhook's events to the call and stores the messages they complete. Throws when they could not be stored. */
  async handle(callId: string, events: CallEvent[]): Promise<CallState> {
    return this.#calls.run(callId, async () => {
      const key = `call:${callId}`;
      const stored = await this.#o.kv.get(key);
      const state: CallState = stored ? (JSON.parse(stored) as CallState) : {};
      const drafts: InboundDraft[] = [];
      for (const ev of events) {
        const fresh = apply(state, ev);
        if (ev.type === 'recording' || ev.type === 'transcript' || (ev.type === 'ended' && fresh)) {
          if (state.from === undefined && state.to === undefined) await this.#identify(callId, state);
          const draft = this.#draft(callId, state, ev);
          if (draft) drafts.push(draft);
        }
      }
      if (drafts.length > 0) await this.#o.accept(drafts);
      await this.#o.kv.set(key, JSON.stringify(state), { keep: 'calls' });
      return state;
    });
  }

  async #identify(callId: string, state: CallState): Promise<void> {
    try {
      const found = await this.#o.lookup?.(callId);
      if (found) Object.assign(state, { direction: state.direction ?? found.direction, from: found.from, to: found.to });
    } catch (err) {
      this.#o.log.warn({ callId, error: (err as Error).message }, 'could not look up who was on the call; filing it under the call id');
    }
  }

  #draft(callId: string, s: CallState, ev: CallEvent): InboundDraft | undefined {
    const outbound = s.direction === 'outbound';
    const customerRaw = outbound ? s.to : s.from;
    const party = partyOf(customerRaw);
    const customer = party?.phone ?? party?.key ?? 'a withheld number';
    const base = {
      occurredAt: ev.at,
      conversation: { externalId: party?.key ?? `call:${callId}` },
      sender: party
        // The caller id name when the network gave one, else the number: a helpdesk user needs a name.
        ? { externalId: party.key, ...(party.phone ? { phone: party.phone } : {}), displayName: (!outbound && s.callerName) || customer }
        : { externalId: 'anonymous', displayName: 'Anonymous caller' },
      meta: { callId },
    };
    const call = {
      direction: s.direction ?? 'inbound',
      from: s.from ?? '',
      to: s.to ?? '',
      ...(s.agent ? { agent: s.agent } : {}),
    };

    if (ev.type === 'ended') {
      const end = s.ended!;
      if (end.outcome === 'forwarded') return undefined;
      const key = `${callId}:end`;
      const durationSec = end.outcome === 'answered' ? (s.talkSec ?? end.durationSec) : end.durationSec;
      const status = end.outcome;
      if (!outbound && end.outcome !== 'answered') {
        const text = `Missed call from ${customer}${s.to ? ` to ${s.to}` : ''}: ${MISSED_WORDS[end.outcome] ?? end.outcome}.`
          + (s.voicemail ? ' The caller was offered voicemail.' : '');
        return {
          ...base, kind: 'call', externalId: key, dedupeKey: key, text,
          conversation: { ...base.conversation, subject: `Missed call from ${customer}` },
          call: { ...call, status, ...(durationSec !== undefined ? { durationSec } : {}) },
        };
      }
      if (this.#o.callLog === 'off') return undefined;
      const lines = [
        `Phone call (${outbound ? 'outbound' : 'inbound'}) ${outbound ? `to ${customer}${s.from ? ` from ${s.from}` : ''}` : `from ${customer}${s.to ? ` to ${s.to}` : ''}`}`,
        end.outcome === 'answered' ? `Answered${s.agent ? ` by: ${s.agent}` : ''}` : `Not answered: ${MISSED_WORDS[end.outcome] ?? end.outcome}`,
        ...(outbound && s.agent && end.outcome !== 'answered' ? [`Agent: ${s.agent}`] : []),
        ...(durationSec !== undefined && end.outcome === 'answered' ? [`Talk time: ${clock(durationSec)}`] : []),
      ];
      return {
        ...base, kind: 'call', externalId: key, dedupeKey: key, text: lines.join('\n'), private: true,
        conversation: { ...base.conversation, subject: `Phone call with ${customer}` },
        call: { ...call, status, ...(durationSec !== undefined ? { durationSec } : {}) },
      };
    }

    if (ev.type === 'recording' && ev.recording) {
      const r = ev.recording;
      const voicemail = r.voicemail ?? (!s.answered && !outbound);
      if (!voicemail && this.#o.callLog === 'off') return undefined;
      const key = `${callId}:recording:${r.id}`;
      const length = r.durationSec !== undefined ? ` (${clock(r.durationSec)})` : '';
      return {
        ...base, kind: voicemail ? 'voicemail' : 'call', externalId: key, dedupeKey: key,
        text: voicemail ? `Voicemail from ${customer}${length}.` : `Recording of the phone call with ${customer}${length}.`,
        attachments: [r.ref],
        ...(voicemail ? {} : { private: true }),
        conversation: { ...base.conversation, subject: voicemail ? `Voicemail from ${customer}` : `Phone call with ${customer}` },
        call: { ...call, status: voicemail ? 'voicemail' : 'recorded', recordingRef: r.ref.source, ...(r.durationSec !== undefined ? { durationSec: r.durationSec } : {}) },
      };
    }

    if (ev.type === 'transcript' && ev.transcript) {
      const t = ev.transcript;
      const voicemail = t.voicemail ?? (!s.answered && !outbound);
      if (!voicemail && this.#o.callLog === 'off') return undefined;
      const key = `${callId}:transcript:${t.id}`;
      return {
        ...base, kind: voicemail ? 'voicemail' : 'call', externalId: key, dedupeKey: key,
        text: voicemail ? `Voicemail from ${customer}, transcribed: ${t.text}` : `Transcript of the phone call with ${customer}: ${t.text}`,
        ...(voicemail ? {} : { private: true }),
        conversation: { ...base.conversation, subject: voicemail ? `Voicemail from ${customer}` : `Phone call with ${customer}` },
        call: { ...call, status: voicemail ? 'voicemail' : 'transcribed', transcript: t.text },
      };
    }
    return undefined;
  }
}

/** Folds an event into the call's state; true when it changed the call's progress (a fresh end, say). */
export function apply(s: CallState, ev: CallEvent): boolean {
  s.direction ??= ev.direction;
  s.from ??= ev.from;
  s.to ??= ev.to;
  s.callerName ??= ev.callerName;
  if (ev.seq !== undefined) {
    if (s.lastSeq !== undefined && ev.seq <= s.lastSeq) return false;
    s.lastSeq = ev.seq;
  }
  switch (ev.type) {
    case 'ringing':
      s.startedAt ??= ev.at;
      return true;
    case 'dialed':
      s.dialed = true;
      if (ev.agent) s.agent ??= ev.agent;
      return true;
    case 'voicemail':
      s.voicemail = true;
      return true;
    case 'answered':
      if (s.ended) return false;
      s.answered = true;
      s.answeredAt ??= ev.at;
      if (ev.agent) s.agent = ev.agent;
      if (ev.durationSec !== undefined) s.talkSec = ev.durationSec;
      return true;
    case 'ended': {
      if (s.ended) return false;
      const outcome = resolveOutcome(s, ev.outcome ?? 'unknown');
      let durationSec = ev.durationSec;
      if (outcome === 'answered' && s.talkSec === undefined && s.answeredAt) {
        s.talkSec = Math.max(0, Math.round((Date.parse(ev.at) - Date.parse(s.answeredAt)) / 1000));
      }
      if (durationSec === undefined && s.startedAt) durationSec = Math.max(0, Math.round((Date.parse(ev.at) - Date.parse(s.startedAt)) / 1000));
      s.ended = { outcome, at: ev.at, ...(durationSec !== undefined && !Number.isNaN(durationSec) ? { durationSec } : {}) };
      return true;
    }
    default:
      return false;
  }
}

function resolveOutcome(s: CallState, outcome: CallOutcome): Exclude<CallOutcome, 'connected'> {
  if (outcome !== 'connected') return outcome;
  if (s.answered) return 'answered';
  if (s.direction === 'outbound') return 'answered';
  return s.dialed || s.voicemail ? 'no-answer' : 'answered';
}

export function clock(sec: number): string {
  const s = Math.max(0, Math.round(sec));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
