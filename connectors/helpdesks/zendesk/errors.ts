import { DeliveryError, errorFromNetwork, errorFromResponse } from '../../../src/core/errors.ts';

/** Zendesk's limits are per minute; a 429 without Retry-After (per-user update limit) still needs a pause. */
export const DEFAULT_RATE_LIMIT_WAIT_MS = 60_000;

function parseJson(text: string | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `details` of a RecordInvalid answer as "field: description" lines. */
function detailLines(details: unknown): string[] {
  if (!isRecord(details)) return [];
  const lines: string[] = [];
  for (const [field, entries] of Object.entries(details)) {
    for (const entry of Array.isArray(entries) ? entries : [entries]) {
      const description = isRecord(entry) ? (entry.description ?? entry.error ?? entry.type) : entry;
      lines.push(`${field}: ${typeof description === 'string' ? description : JSON.stringify(description)}`);
    }
  }
  return lines;
}

/** One line that says what Zendesk objected to, from any of its error body shapes (or plain text). */
export function summarizeZendeskBody(body: string): string {
  const json = parseJson(body);
  if (isRecord(json)) {
    const lines = detailLines(json.details);
    if (lines.length > 0) return lines.join('; ');
    const { error, description } = json;
    if (typeof error === 'string') return typeof description === 'string' ? `${error}: ${description}` : error;
    if (isRecord(error)) return [error.title, error.message].filter((s) => typeof s === 'string').join(': ');
    if (Array.isArray(json.errors)) {
      return json.errors
        .map((e) => (isRecord(e) ? [e.title, e.detail].filter((s) => typeof s === 'string').join(': ') : String(e)))
        .join('; ');
    }
    if (typeof description === 'string') return description;
  }
  return body.trim().split('\n')[0]?.slice(0, 200) ?? '';
}

/** Sorts a Zendesk error answer: the core rules, refined where Zendesk differs. */
export function zendeskError(
  what: string,
  status: number,
  body: string,
  headers: { get(name: string): string | null },
): DeliveryError {
  const base = errorFromResponse(what, status, body, headers);
  const summary = summarizeZendeskBody(body);
  const said = summary ? `: ${summary}` : '';
  const init = { status, detail: base.detail };
  if (status === 429) {
    return new DeliveryError(`${what}: rate limited by Zendesk (429)${said}`, {
      ...init,
      kind: 'rate_limited',
      retryAfterMs: base.retryAfterMs ?? DEFAULT_RATE_LIMIT_WAIT_MS,
    });
  }
  if (status === 401 || status === 403) {
    return new DeliveryError(`${what}: Zendesk rejected the credentials (${status})${said}`, { ...init, kind: 'permanent' });
  }
  // 409 is a collision with a concurrent update: nothing was written, the next try usually passes.
  if (status === 409) {
    return new DeliveryError(`${what}: conflicting concurrent update (409)${said}`, { ...init, kind: 'retry' });
  }
  // Zendesk may have applied a write before any 5xx (503 included), so every 5xx is ambiguous.
  if (status >= 500 || status === 408) {
    return new DeliveryError(`${what}: Zendesk answered ${status}${said}`, {
      ...init,
      kind: 'retry',
      retryAfterMs: base.retryAfterMs,
      ambiguous: true,
    });
  }
  if (status === 422) {
    return new DeliveryError(`${what}: Zendesk rejected it (422)${said}`, { ...init, kind: 'permanent' });
  }
  return new DeliveryError(`${what}: Zendesk answered ${status}${said}`, {
    ...init,
    kind: base.kind,
    retryAfterMs: base.retryAfterMs,
    ambiguous: base.ambiguous,
  });
}

/** fetch's own "fetch failed" says nothing; name the underlying cause (ECONNREFUSED, timeout). */
export function zendeskNetworkError(what: string, err: unknown): DeliveryError {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : undefined;
  if (!cause) return errorFromNetwork(what, err);
  const code = (cause as { code?: unknown }).code;
  const described = new Error(`${err instanceof Error ? err.message : String(err)} (${typeof code === 'string' ? `${code} ` : ''}${cause.message})`, { cause: err });
  described.name = err instanceof Error ? err.name : 'Error';
  return errorFromNetwork(what, described);
}

/** A 422 that says the ticket is closed: the message must go to a follow-up ticket. */
export function isClosedTicketError(err: unknown): boolean {
  if (!(err instanceof DeliveryError) || err.status !== 422) return false;
  const json = parseJson(err.detail);
  if (!isRecord(json) || !isRecord(json.details)) return false;
  const { status, base } = json.details;
  return detailLines({ status, base }).some((line) => /closed/i.test(line));
}

export function isNotFound(err: unknown): boolean {
  return err instanceof DeliveryError && err.status === 404;
}

/** Same Idempotency-Key, different body: Zendesk already handled a create under this key. */
export function isIdempotencyMismatch(err: unknown): boolean {
  if (!(err instanceof DeliveryError) || err.status !== 400) return false;
  const json = parseJson(err.detail);
  return isRecord(json) && json.error === 'IdempotentRequestError';
}

/** The field names a 422 RecordInvalid objects to. */
export function rejectedFields(err: unknown): string[] {
  if (!(err instanceof DeliveryError) || err.status !== 422) return [];
  const json = parseJson(err.detail);
  return isRecord(json) && isRecord(json.details) ? Object.keys(json.details) : [];
}
