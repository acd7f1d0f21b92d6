import type { AcceptOutcome, Logger } from '../connector.ts';
import { HELPDESK_TARGET, type NewJob } from '../jobs.ts';
import { lanes } from '../pipeline.ts';
import { businessMs, type BusinessCalendar } from './business-time.ts';
import type { SlaSection } from './config.ts';
import { formatDuration } from './duration.ts';
import { onSlaStage, waitingSince, type Labels, type TimingRecord, type TimingStore } from './record.ts';
import { updateRecord } from './timing.ts';

/**
 * The SLA watch: every few seconds it looks at the conversations waiting for an agent and, once
 * per wait, warns before the target and declares the breach after it (a tag on the ticket and a
 * notice). Both are jobs with dedupe keys, so a restart, a second watcher or a retried round does
 * not repeat them; the record remembers the stage so the next round does not even try.
 */

export type SlaStage = 'warning' | 'breach';

export interface DueStage {
  stage: SlaStage;
  /** When the wait began (its oldest unanswered customer message). */
  since: number;
  businessMs: number;
  calendarMs: number;
  targetMs: number;
}

/** Up to this many waiting conversations are looked at per round, longest waiting first. */
const ROUND_LIMIT = 10_000;
const PRUNE_EVERY_MS = 3_600_000;

/** What, if anything, is due for a conversation now. Pure: the tests drive it with any clock. */
export function dueStage(r: TimingRecord, now: number, calendar: BusinessCalendar, warnAt: number | undefined): DueStage | undefined {
  const since = waitingSince(r);
  if (since === undefined || r.targetMs === undefined || r.breachedFor === since) return undefined;
  const waited = businessMs(calendar, since, now);
  const base = { since, businessMs: waited, calendarMs: Math.max(0, now - since), targetMs: r.targetMs };
  if (waited >= r.targetMs) return { stage: 'breach', ...base };
  if (warnAt !== undefined && r.warnedFor !== since && waited >= warnAt * r.targetMs) return { stage: 'warning', ...base };
  return undefined;
}

/** The notice's one line: what happened, how long, against what target. */
export function headline(r: TimingRecord, due: DueStage): string {
  const what = r.firstResponse ? 'a reply' : 'a first reply';
  const wall = due.calendarMs - due.businessMs >= 60_000 ? ` (${formatDuration(due.calendarMs)} in all)` : '';
  if (due.stage === 'breach') {
    return `SLA breached: the customer has waited ${formatDuration(due.businessMs)} in business hours${wall} for ${what}; target ${formatDuration(due.targetMs)}`;
  }
  return `SLA warning: the customer has waited ${formatDuration(due.businessMs)} in business hours${wall} for ${what}; the ${formatDuration(due.targetMs)} target is reached in ${formatDuration(due.targetMs - due.businessMs)}`;
}

export interface SlaWatchDeps {
  store: TimingStore;
  enqueue(jobs: NewJob[]): Promise<AcceptOutcome[]>;
  sla: SlaSection;
  calendar: BusinessCalendar;
  /** Channel id → kind, for the notice. */
  channelKinds: ReadonlyMap<string, string>;
  keepDays: number;
  /** A stage was declared (metrics). */
  declared?(stage: SlaStage, labels: Labels): void;
  now?: () => number;
  log: Logger;
}

/** The jobs of one stage: the tag (a breach only) and a notice per target, each keyed to this wait. */
export function stageJobs(r: TimingRecord, due: DueStage, sla: SlaSection, channelKind: string): NewJob[] {
  const key = `sla:${due.stage}:${r.ticketId}:${due.since}`;
  const jobs: NewJob[] = [];
  if (due.stage === 'breach') {
    jobs.push({ dedupeKey: `${key}:tag`, lane: lanes.ticket(r.ticketId), target: HELPDESK_TARGET, payload: { kind: 'tag', ticketId: r.ticketId, tags: [sla.tag] } });
  }
  for (const target of sla.notify) {
    const colon = target.indexOf(':');
    jobs.push({
      dedupeKey: `${key}:notify:${target}`,
      lane: lanes.notify(target),
      target: `notifier:${colon === -1 ? target : target.slice(0, colon)}`,
      payload: {
        kind: 'notice',
        target,
        notice: {
          headline: headline(r, due),
          ticketId: r.ticketId,
          ...(r.ticketUrl ? { ticketUrl: r.ticketUrl } : {}),
          rules: [],
          ...(r.priority !== 'none' ? { priority: r.priority } : {}),
          tags: [...(r.topic !== 'other' ? [r.topic] : []), ...(due.stage === 'breach' ? [sla.tag] : [])],
          channel: { id: r.channel, kind: channelKind },
          text: '',
        },
      },
    });
  }
  return jobs;
}

export function createSlaWatch(deps: SlaWatchDeps): { tick(): Promise<number> } {
  const now = deps.now ?? Date.now;
  let prunedAt = 0;

  async function declare(ticketId: string): Promise<boolean> {
    // Read again: an agent reply or "solved" since the round began stops the clock.
    const fresh = await deps.store.get(ticketId);
    const due = fresh && dueStage(fresh.record, now(), deps.calendar, deps.sla.warnAt);
    if (!fresh || !due) return false;
    const r = fresh.record;
    const jobs = stageJobs(r, due, deps.sla, deps.channelKinds.get(r.channel) ?? 'unknown');
    const outcomes = jobs.length > 0 ? await deps.enqueue(jobs) : [];
    const saved = await updateRecord(deps.store, r.ticketId, (current) => {
      if (!current) return undefined;
      const still = dueStage(current.record, now(), deps.calendar, deps.sla.warnAt);
      return still && still.since === due.since && still.stage === due.stage ? onSlaStage(current.record, due.stage, due.since) : undefined;
    });
    // Counted once: by the round whose jobs were new (a repeated round finds them all duplicates).
    if (saved && (outcomes.length === 0 || outcomes.some((o) => !o.duplicate))) {
      deps.declared?.(due.stage, r);
      deps.log.info({ ticketId: r.ticketId, stage: due.stage, waitedMs: due.businessMs, targetMs: due.targetMs }, due.stage === 'breach' ? 'SLA breached' : 'SLA warning');
    }
    return true;
  }

  return {
    /** One round; returns how many stages it declared. */
    async tick() {
      const at = now();
      let declared = 0;
      const watched = await deps.store.watched(ROUND_LIMIT);
      for (const { record } of watched) {
        const due = dueStage(record, at, deps.calendar, deps.sla.warnAt);
        if (!due) continue;
        try {
          if (await declare(record.ticketId)) declared++;
        } catch (err) {
          deps.log.warn({ err, ticketId: record.ticketId, stage: due.stage }, 'could not declare an SLA stage; the next round tries again');
        }
      }
      deps.log.debug({ waiting: watched.length, declared }, 'SLA watch round');
      if (at - prunedAt >= PRUNE_EVERY_MS) {
        prunedAt = at;
        const gone = await deps.store.prune(at - deps.keepDays * 86_400_000);
        if (gone > 0) deps.log.info({ conversations: gone, keepDays: deps.keepDays }, 'forgot the timings of old conversations');
      }
      return declared;
    },
  };
}

/**
 * Runs rounds every `everyMs`, one at a time (a slow round delays the next rather than
 * overlapping it); `stop` waits for a round in progress.
 */
export function watchLoop(tick: () => Promise<unknown>, everyMs: number, log: Logger): { start(): Promise<void>; stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> = Promise.resolve();
  let running = false;
  const schedule = () => {
    timer = setTimeout(() => {
      round = tick().then(() => undefined, (err: unknown) => log.warn({ err }, 'SLA watch round failed; the next one tries again'));
      void round.then(() => running && schedule());
    }, everyMs);
    timer.unref();
  };
  return {
    async start() {
      if (running) return;
      running = true;
      schedule();
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      await round;
    },
  };
}
