import type { Priority } from '../core/rules/schema.ts';

/**
 * Scheduling classes. Lanes wait in one queue per class and are served most urgent class
 * first, round-robin within a class: a lane runs one job (or one batch), then goes to the back
 * of its class. A lane's class is the most urgent class among its queued jobs, so an urgent
 * message also hurries the messages of its conversation that are queued ahead of it (order
 * within a conversation is kept).
 */
export const URGENT = 0;
export const HIGH = 1;
export const NORMAL = 2;
/** Senders over the flood limit: served when no one else waits. */
export const THROTTLED = 3;
export const CLASS_COUNT = 4;
export const CLASS_NAMES = ['urgent', 'high', 'normal', 'throttled'] as const;

/**
 * Queued jobs per class (RuntimeStats). Jobs are classified lazily, only while lanes wait for
 * workers, so `unclassified` holds the jobs not classified yet: they wait with a provisional
 * class (normal, or throttled for a sender over the flood limit). The five add up to `queued`.
 */
export type QueuedByClass = Record<(typeof CLASS_NAMES)[number] | 'unclassified', number>;

/** From the classified jobs' counts per class and the queue's depth; the rest are not classified yet. */
export function queuedByClass(classified: readonly number[], queued: number): QueuedByClass {
  // A counter that has not settled yet (the table changed behind the store's back) never shows negative.
  const count = (c: number) => Math.max(0, classified[c] ?? 0);
  const sorted = { urgent: count(URGENT), high: count(HIGH), normal: count(NORMAL), throttled: count(THROTTLED) };
  return { ...sorted, unclassified: Math.max(0, queued - sorted.urgent - sorted.high - sorted.normal - sorted.throttled) };
}

/** The class a job is scheduled with once the pipeline has classified it. Urgent is never held back. */
export function classOf(priority: Priority | undefined, throttled: boolean): number {
  if (priority === 'urgent') return URGENT;
  if (throttled) return THROTTLED;
  return priority === 'high' ? HIGH : NORMAL;
}

/** The class a job waits with until it is classified. */
export function provisionalClass(throttled: boolean): number {
  return throttled ? THROTTLED : NORMAL;
}

/** A lane's class: the most urgent class it holds a job of. */
export function laneClass(counts: readonly number[]): number {
  for (let c = 0; c < CLASS_COUNT; c++) if (counts[c]! > 0) return c;
  return NORMAL;
}
