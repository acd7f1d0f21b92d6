import { maskCards } from './redact.ts';

/**
 * How a helpdesk or channel failure is sorted. Connectors throw `DeliveryError`;
 * the runtime decides from `kind` whether to retry, wait, or dead-letter.
 */
export type FailureKind = 'retry' | 'rate_limited' | 'permanent';

export interface DeliveryErrorInit {
  kind: FailureKind;
  /** HTTP status (or the channel's error code) when there was one. */
  status?: number;
  /** How long the remote side asked us to wait (Retry-After), in ms. */
  retryAfterMs?: number;
  /** The remote side's own words, verbatim (response body), kept in the dead-letter record. */
  detail?: string;
  /** The write may have been applied although we got no answer (timeout, reset, 5xx after send). */
  ambiguous?: boolean;
  cause?: unknown;
}

export class DeliveryError extends Error {
  readonly kind: FailureKind;
  readonly status?: number;
  readonly retryAfterMs?: number;
  readonly detail?: string;
  readonly ambiguous: boolean;

  /** A helpdesk that echoes the ticket's text in its error would put a card number in the dead letter: masked here, the rest verbatim. */
  constructor(message: string, init: DeliveryErrorInit) {
    super(maskCards(message), init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'DeliveryError';
    this.kind = init.kind;
    this.status = init.status;
    this.retryAfterMs = init.retryAfterMs;
    this.detail = init.detail === undefined ? undefined : maskCards(init.detail);
    this.ambiguous = init.ambiguous ?? false;
  }
}

/** Anything thrown that is not a DeliveryError is a bug or an outage: retry it, and say so. */
export function asDeliveryError(err: unknown): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new DeliveryError(message, { kind: 'retry', ambiguous: true, cause: err });
}

/** Parses a Retry-After header (seconds or HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/**
 * Sorts an HTTP answer the usual way; connectors call this and refine where their API differs.
 * 408/425/429/5xx are transient, other 4xx are permanent.
 */
export function errorFromResponse(
  what: string,
  status: number,
  body: string,
  headers: { get(name: string): string | null },
): DeliveryError {
  const retryAfterMs = parseRetryAfter(headers.get('retry-after'));
  const detail = body.slice(0, 8000);
  if (status === 429) {
    return new DeliveryError(`${what}: rate limited (429)`, { kind: 'rate_limited', status, retryAfterMs, detail });
  }
  if (status === 408 || status === 425 || status >= 500) {
    return new DeliveryError(`${what}: ${status}`, { kind: 'retry', status, retryAfterMs, detail, ambiguous: status !== 503 });
  }
  return new DeliveryError(`${what}: ${status}`, { kind: 'permanent', status, detail });
}

/** A network failure or timeout from fetch: the request may or may not have reached the other side. */
export function errorFromNetwork(what: string, err: unknown): DeliveryError {
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new DeliveryError(`${what}: ${message}`, { kind: 'retry', ambiguous: true, detail: message, cause: err });
}

/**
 * The input itself is wrong (a message the schema refuses), not the store: the sender gets a 4xx
 * naming the field, because a 5xx would make it send the same thing again forever.
 */
export class InvalidInput extends Error {
  readonly field: string;

  constructor(field: string, message: string) {
    super(`${field} ${message}`);
    this.name = 'InvalidInput';
    this.field = field;
  }
}

/** A 400 naming the field when `accept` refused the input itself; undefined when the store failed (answer 503). */
export function refusedInput(err: unknown): { status: 400; body: { error: string } } | undefined {
  return err instanceof InvalidInput ? { status: 400, body: { error: err.message } } : undefined;
}

/**
 * Not a failure: the job may not run yet (quiet hours, a delay). The runtime puts it back to run
 * at `until` without counting an attempt and without pausing its target.
 */
export class NotYet extends Error {
  readonly until: number;

  constructor(until: number, reason: string) {
    super(reason);
    this.name = 'NotYet';
    this.until = until;
  }
}
