import type { AcceptOutcome, BlobStore, KeyValueStore, RateLimiter } from '../core/connector.ts';
import type { DeadLetter, LinkStore, NewJob } from '../core/jobs.ts';
import type { Pipeline } from '../core/pipeline.ts';
import type { RateLimiterOptions } from './rate-limiter.ts';

/** Where work waits. The embedded (node:sqlite) and Redis runtimes both implement it. */
export interface Runtime {
  /** Insert-if-absent by dedupe key; resolves once the jobs are durable. */
  enqueue(jobs: NewJob[]): Promise<AcceptOutcome[]>;
  links: LinkStore;
  kv: KeyValueStore;
  blobs: BlobStore;
  dlq: DeadLetterQueue;
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
   * Called before a webhook is handled: resolves when it may be, so that deliveries running in
   * this process keep their share of the event loop during a storm (see IngressShare).
   * Undefined: go ahead now.
   */
  admit(): Promise<void> | undefined;
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
}

export interface JobOutcome {
  kind: string;
  lane: string;
  target: string;
  channelId?: string;
  createdAt: number;
}

export interface WorkerEvents {
  delivered?(job: JobOutcome, count: number): void;
  retried?(job: JobOutcome, reason: string, delayMs: number): void;
  deadLettered?(job: JobOutcome, reason: string): void;
}

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}
