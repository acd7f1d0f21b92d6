import type { Logger } from '../connector.ts';
import { topicOf } from '../rules/topic.ts';
import type { Decision } from '../rules/schema.ts';
import type { BusinessCalendar } from './business-time.ts';
import { targetFor, type KpiSection, type SlaSection } from './config.ts';
import { onAgentReply, onCustomerMessage, onSolved, type Labels, type ResponseSample, type TimingRecord, type TimingStore, type Versioned } from './record.ts';

/**
 * Records each conversation's timing as the pipeline sees its messages and replies. Never fails
 * a delivery: a timing that cannot be written is logged and the message goes on.
 */
export interface ConversationTiming {
  /** A customer message (not a private note, not an edit) is on the ticket. */
  customerMessage(m: { ticketId: string; ticketUrl?: string; messageId: string; channel: string; at: number; decision: Decision }): Promise<void>;
  /** An agent's public reply on the ticket, at the helpdesk's time for it. */
  agentReply(r: { ticketId: string; commentId: string; at: number }): Promise<void>;
  /** The helpdesk reported these tickets solved (now): a wait without a reply ends, and its SLA clock stops. */
  solved(ticketIds: readonly string[], at: number): Promise<void>;
}

export interface TimingDeps {
  store: TimingStore;
  kpi: KpiSection;
  sla: SlaSection;
  calendar: BusinessCalendar;
  /** Symbolic groups the helpdesk maps: anything else is counted as `other`, so metric labels stay few. */
  groups: readonly string[];
  /** A response was measured (metrics). */
  observe?(sample: ResponseSample, labels: Labels): void;
  log: Logger;
}

/** Concurrent writers to one ticket are rare; a loser waits a random moment so it is not beaten again at once. */
const MAX_ROUNDS = 30;
const jitter = (round: number) => new Promise((r) => setTimeout(r, Math.random() * 2 ** Math.min(round, 6)));

/**
 * Records as this process last read or wrote them, by ticket: a change is planned on one without
 * reading it first (a customer's follow-ups then cost one store round trip each, not two). The
 * write is a compare-and-set, so one written elsewhere meanwhile is read afresh. Bounded.
 */
export class KnownRecords {
  readonly #records = new Map<string, Versioned>();
  get(ticketId: string): Versioned | undefined {
    return this.#records.get(ticketId);
  }
  set(ticketId: string, v: Versioned): void {
    if (this.#records.size >= 10_000) this.#records.clear();
    this.#records.set(ticketId, v);
  }
  delete(ticketId: string): void {
    this.#records.delete(ticketId);
  }
}

/** Reads, changes and compare-and-sets one record until the write lands (first on the record as `known` has it). */
export async function updateRecord(
  store: TimingStore,
  ticketId: string,
  change: (current: Versioned | undefined) => TimingRecord | undefined,
  known?: KnownRecords,
): Promise<TimingRecord | undefined> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const cached = round === 0 ? known?.get(ticketId) : undefined;
    const current = cached ?? (await store.get(ticketId));
    if (current && !cached) known?.set(ticketId, current);
    const next = change(current);
    // Nothing to change on what this process last saw: what is stored decides.
    if (!next && cached) continue;
    if (!next) return undefined;
    const version = current?.version ?? 0;
    if (await store.put(next, version)) {
      known?.set(ticketId, { record: next, version: version + 1 });
      return next;
    }
    known?.delete(ticketId);
    if (!cached) await jitter(round);
  }
  throw new Error(`timing of ticket ${ticketId} kept changing under us (${MAX_ROUNDS} rounds)`);
}

export function labelsOf(decision: Decision, channel: string, kpi: KpiSection, groups: readonly string[]): Labels {
  const group = decision.group === undefined ? 'none' : groups.includes(decision.group) ? decision.group : 'other';
  return { channel, topic: topicOf(decision, kpi.topics), priority: decision.priority ?? 'none', group };
}

export function createConversationTiming(deps: TimingDeps): ConversationTiming {
  const { store, log } = deps;
  const known = new KnownRecords();
  return {
    async customerMessage(m) {
      const labels = labelsOf(m.decision, m.channel, deps.kpi, deps.groups);
      const message = {
        ...labels,
        ticketId: m.ticketId,
        ...(m.ticketUrl ? { ticketUrl: m.ticketUrl } : {}),
        messageId: m.messageId,
        at: m.at,
        targetMs: targetFor(deps.sla, m.channel, m.decision.priority),
      };
      try {
        await updateRecord(store, m.ticketId, (current) => {
          const next = onCustomerMessage(current?.record, message);
          return next === current?.record ? undefined : next;
        }, known);
      } catch (err) {
        log.warn({ err, ticketId: m.ticketId }, 'could not record the customer message for response times');
      }
    },

    async agentReply(r) {
      let sample: ResponseSample | undefined;
      let labels: Labels | undefined;
      try {
        await updateRecord(store, r.ticketId, (current) => {
          // A ticket from before the gateway measured anything: nothing to time.
          if (!current) return undefined;
          const outcome = onAgentReply(current.record, { commentId: r.commentId, at: r.at }, deps.calendar);
          sample = outcome?.sample;
          labels = current.record;
          return outcome?.record;
        });
        known.delete(r.ticketId);
      } catch (err) {
        log.warn({ err, ticketId: r.ticketId }, 'could not record the agent reply for response times');
        return;
      }
      if (sample && labels) deps.observe?.(sample, { channel: labels.channel, topic: labels.topic, priority: labels.priority, group: labels.group });
    },

    async solved(ticketIds, at) {
      for (const ticketId of ticketIds) {
        try {
          // A ticket the gateway never timed, or with nothing waiting: nothing to stop.
          await updateRecord(store, ticketId, (current) => current && onSolved(current.record, at));
          known.delete(ticketId);
        } catch (err) {
          log.warn({ err, ticketId }, 'could not record the solved ticket for response times');
        }
      }
    },
  };
}
