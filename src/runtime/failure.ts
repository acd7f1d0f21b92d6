import type { Logger } from '../core/connector.ts';
import { NotYet, type DeliveryError } from '../core/errors.ts';
import type { Job } from '../core/jobs.ts';
import type { JobOutcome, RetryPolicy, WorkerEvents } from './runtime.ts';

/**
 * What a failed attempt leads to, decided once for both runtimes: the runtime only carries
 * it out (pause the target, reschedule the job, or dead-letter it) and reports it.
 */
export type FailureStep =
  /** Not a failure: the job is not due yet (NotYet); back in its lane until then, attempts and target untouched. */
  | { action: 'wait'; until: number; failures: number }
  /** The remote side asked us to slow down: its whole target waits; the attempt does not count. */
  | { action: 'pause'; delayMs: number; failures: number }
  | { action: 'retry'; delayMs: number; failures: number }
  | { action: 'dead'; reason: string; cause: 'permanent' | 'exhausted' };

export function decideFailure(thrown: unknown, err: DeliveryError, failuresBefore: number, policy: RetryPolicy, random = Math.random): FailureStep {
  if (thrown instanceof NotYet) return { action: 'wait', until: thrown.until, failures: failuresBefore };
  if (err.kind === 'rate_limited') {
    return { action: 'pause', delayMs: retryDelay(policy, failuresBefore + 1, err.retryAfterMs, random), failures: failuresBefore };
  }
  const failures = failuresBefore + 1;
  if (err.kind === 'permanent') return { action: 'dead', reason: err.message, cause: 'permanent' };
  if (failures >= policy.maxAttempts) return { action: 'dead', reason: `gave up after ${failures} attempts: ${err.message}`, cause: 'exhausted' };
  return { action: 'retry', delayMs: retryDelay(policy, failures, err.retryAfterMs, random), failures };
}

/** Exponential backoff with full jitter in [50%, 100%]; a Retry-After from the remote side wins. */
export function retryDelay(policy: RetryPolicy, failures: number, retryAfterMs?: number, random = Math.random): number {
  if (retryAfterMs !== undefined) return Math.min(Math.max(retryAfterMs, 0), policy.maxDelayMs) + Math.floor(random() * 250);
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, failures - 1));
  return Math.floor(exp * (0.5 + random() * 0.5));
}

/** What the job keeps about the attempt: the error, the remote words, whether it may have been applied. */
export interface AttemptRecord {
  error: string;
  detail?: string;
  status?: number;
  ambiguous: boolean;
}

export function attemptRecord(step: FailureStep, err: DeliveryError): AttemptRecord {
  // A job that was not due did nothing: nothing to reconcile.
  if (step.action === 'wait') return { error: err.message, ambiguous: false };
  return { error: step.action === 'dead' ? step.reason : err.message, detail: err.detail, status: err.status, ambiguous: err.ambiguous };
}

/** When a rescheduled job is due again (a dead one is not). */
export function dueAt(step: Exclude<FailureStep, { action: 'dead' }>, now = Date.now()): number {
  return step.action === 'wait' ? step.until : now + step.delayMs;
}

/** The same log lines and metrics for a carried-out step on either runtime. */
export function reportFailure(log: Logger, events: WorkerEvents, head: Job, step: FailureStep, err: DeliveryError): void {
  const l = log.child({ job: head.id, lane: head.lane, kind: head.payload.kind, attempt: head.attempts + 1 });
  const job = outcome(head);
  switch (step.action) {
    case 'wait':
      l.info({ until: new Date(step.until).toISOString() }, 'not due yet; waits');
      return;
    case 'pause':
      l.warn({ target: head.target, delayMs: step.delayMs, status: err.status }, 'rate limited; target paused');
      events.retried?.(job, 'rate_limited', step.delayMs, { message: err.message, status: err.status });
      return;
    case 'retry':
      l.warn({ status: err.status, delayMs: step.delayMs, error: err.message }, 'delivery failed; will retry');
      events.retried?.(job, 'error', step.delayMs, { message: err.message, status: err.status });
      return;
    case 'dead':
      l.error({ status: err.status, detail: err.detail?.slice(0, 2000), error: step.reason }, 'dead-lettered');
      events.deadLettered?.(job, step.cause, { message: step.reason, status: err.status });
      return;
  }
}

/** What the metrics hear about a job. */
export function outcome(job: Job): JobOutcome {
  const p = job.payload;
  const channelId = p.kind === 'inbound' ? p.message.channel.id : job.target.startsWith('channel:') ? job.target.slice(8) : undefined;
  return { kind: p.kind, lane: job.lane, target: job.target, channelId, createdAt: job.createdAt };
}
