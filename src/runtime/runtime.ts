import type { AcceptOutcome, BlobStore, KeyValueStore, RateLimiter } from '../core/connector.ts';
import type { ConversationLog, DeadLetter, LinkStore, NewJob } from '../core/jobs.ts';
import type { TimingStore } from '../core/kpi/record.ts';
import type { IdentityStore } from '../core/identity/customer.ts';
import type { Pipeline } from '../core/pipeline.ts';
import type { QueuedByClass } from './classes.ts';
import type { RateLimiterOptions } from './rate-limiter.ts';

/** Where work waits. The embedded (node:sqlite) and Redis runtimes both implement it. */
export interface Runtime {
  /** Insert-if-absent by dedupe key; resolves once the jobs are durable. */
  enqueue(jobs: NewJob[]): Promise<AcceptOutcome[]>;
  links: LinkStore;
  kv: KeyValueStore;
  blobs: BlobStore;
  dlq: DeadLetterQueue;
  /** Per-conversation response times and SLA state (reports, the SLA watch). */
  timing: TimingStore;
  /** Each conversation's recent path (accepted, ticket, replies, notes), for the console. */
  conversations: ConversationLog;
  /** Where processes sharing this runtime publish what they see (absent: one process, nothing to share). */
  processes?: ProcessBoard;
  /** Customers: the identifiers the gateway learned belong together (docs/identity.md). */
  identities: IdentityStore;
  /** Start running jobs through the pipeline. */
  startWorker(pipeline: Pipeline, events?: WorkerEvents): void;
  /** Stop taking work, wait for jobs in flight (up to `graceMs`), close. */
  close(graceMs?: number): Promise<void>;
  stats(): Promise<RuntimeStats>;
  ping(): Promise<void>;
  /** A rate limiter all processes on this runtime share (absent: each process paces on its own). */
  sharedRateLimiter?(name: string, opts: RateLimiterOptions): RateLimiter;
  /** A lease all processes on this runtime compete for (absent: one process, nothing to share). */
  lease?(name: string): Lease;
  /**
   * Handles a webhook (`handle`, up to its answer) when it is its turn, so that deliveries
   * running in this process keep their share of it during a storm (see IngressShare); when too
   * many of its route (`line`) wait already, answers with `full` instead.
   */
  admit<T>(line: string, handle: () => Promise<T>, full: () => T): Promise<T>;
}

/** Each process's latest report (JSON), so a console on any process can show all of them. */
export interface ProcessBoard {
  /** Replaces this process's report; it is forgotten `ttlMs` after the last publish (the process died). */
  publish(processId: string, report: string, ttlMs: number): Promise<void>;
  /** Every live process's report. */
  list(): Promise<string[]>;
}

/** Held by one process at a time, until it releases it or stops renewing for `ttlMs`. */
export interface Lease {
  readonly ttlMs: number;
  /** Takes the lease if it is free, renews it if it is ours; false while another process holds it. */
  hold(): Promise<boolean>;
  release(): Promise<void>;
}

export interface DeadLetterQueue {
  list(opts?: { limit?: number }): Promise<DeadLetter[]>;
  get(id: string): Promise<DeadLetter | undefined>;
  /** Puts dead jobs back at the end of their lane, with a fresh attempt count. */
  replay(id: string | 'all'): Promise<number>;
  drop(id: string | 'all'): Promise<number>;
}

export interface RuntimeStats {
  queued: number;
  dead: number;
  inFlight: number;
  /** Age of the oldest job still waiting, in ms (lane lag). */
  oldestQueuedMs: number;
  /** `queued` per scheduling class (jobs being delivered included, as in `queued`). */
  queuedByClass: QueuedByClass;
}

export interface JobOutcome {
  kind: string;
  lane: string;
  target: string;
  channelId?: string;
  createdAt: number;
}

/** What the remote side said when an attempt failed (the dead letter keeps the full detail). */
export interface FailureNote {
  message: string;
  status?: number;
}

export interface WorkerEvents {
  delivered?(job: JobOutcome, count: number): void;
  retried?(job: JobOutcome, reason: string, delayMs: number, failure?: FailureNote): void;
  deadLettered?(job: JobOutcome, reason: string, failure?: FailureNote): void;
}

/** Several listeners as one (metrics, the console's activity record, the conversation log). */
export function allEvents(...listeners: WorkerEvents[]): WorkerEvents {
  return {
    delivered: (job, count) => listeners.forEach((l) => l.delivered?.(job, count)),
    retried: (job, reason, delayMs, failure) => listeners.forEach((l) => l.retried?.(job, reason, delayMs, failure)),
    deadLettered: (job, reason, failure) => listeners.forEach((l) => l.deadLettered?.(job, reason, failure)),
  };
}

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}
