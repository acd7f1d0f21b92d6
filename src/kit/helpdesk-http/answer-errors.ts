import { DeliveryError, errorFromNetwork, errorFromResponse, type DeliveryErrorInit } from '../../core/errors.ts';

/** How a helpdesk's error answers are sorted into retry / rate-limited / permanent, in its own words. */

type HeaderBag = { get(name: string): string | null };

/** A helpdesk's limits are per minute: a 429 without Retry-After still needs a pause. */
export const DEFAULT_RATE_LIMIT_WAIT_MS = 60_000;

/** JSON of an answer body, or undefined when there is none or it is not JSON. */
export function parseJson(text: string | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The first line of a body that is not one the vendor's summary could read. */
export function firstLine(body: string): string {
  return body.trim().split('\n')[0]?.slice(0, 200) ?? '';
}

export interface VendorAnswers {
  /** The vendor's name as people write it, e.g. `Zendesk`. */
  vendor: string;
  /** What a 401/403 says was refused, e.g. `rejected the credentials`. */
  refusedCredentials: string;
  /** One line that says what the vendor objected to, from its error body. */
  summarize(body: string): string;
  /**
   * Statuses the vendor uses its own way (Zendesk's 409 is a retry, Freshdesk's empty 404 is a
   * wrong address), asked after 429 and 401/403 and before the general rules.
   */
  refine?(a: { what: string; status: number; body: string; said: string; init: Pick<DeliveryErrorInit, 'status' | 'detail'> }): DeliveryError | undefined;
}

/** Sorts an HTTP error answer: the core rules (`errorFromResponse`), refined where the vendor differs. */
export function sortAnswer(v: VendorAnswers, what: string, status: number, body: string, headers: HeaderBag): DeliveryError {
  const base = errorFromResponse(what, status, body, headers);
  const summary = v.summarize(body);
  const said = summary ? `: ${summary}` : '';
  const init = { status, detail: base.detail };
  if (status === 429) {
    return new DeliveryError(`${what}: rate limited by ${v.vendor} (429)${said}`, { ...init, kind: 'rate_limited', retryAfterMs: base.retryAfterMs ?? DEFAULT_RATE_LIMIT_WAIT_MS });
  }
  if (status === 401 || status === 403) {
    return new DeliveryError(`${what}: ${v.vendor} ${v.refusedCredentials} (${status})${said}`, { ...init, kind: 'permanent' });
  }
  const refined = v.refine?.({ what, status, body, said, init });
  if (refined) return refined;
  // The helpdesk may have applied a write before any 5xx (503 included), so every 5xx is ambiguous.
  if (status >= 500 || status === 408) {
    return new DeliveryError(`${what}: ${v.vendor} answered ${status}${said}`, { ...init, kind: 'retry', retryAfterMs: base.retryAfterMs, ambiguous: true });
  }
  return new DeliveryError(`${what}: ${v.vendor} answered ${status}${said}`, { ...init, kind: base.kind, retryAfterMs: base.retryAfterMs, ambiguous: base.ambiguous });
}

/** fetch's own "fetch failed" says nothing; name the underlying cause (ECONNREFUSED, timeout). */
export function networkError(what: string, err: unknown): DeliveryError {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : undefined;
  if (!cause) return errorFromNetwork(what, err);
  const code = (cause as { code?: unknown }).code;
  const described = new Error(`${err instanceof Error ? err.message : String(err)} (${typeof code === 'string' ? `${code} ` : ''}${cause.message})`, { cause: err });
  described.name = err instanceof Error ? err.name : 'Error';
  return errorFromNetwork(what, described);
}
