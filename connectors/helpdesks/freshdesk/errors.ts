import { DeliveryError, errorFromNetwork, errorFromResponse } from '../../../src/core/errors.ts';

/** Freshdesk's limits are per minute; a 429 without Retry-After still needs a pause. */
export const DEFAULT_RATE_LIMIT_WAIT_MS = 60_000;

function parseJson(text: string | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface FieldError {
  field: string;
  message: string;
  code: string;
  additional_info?: Record<string, unknown>;
}

/** The `errors[]` of a Freshdesk error body. */
export function fieldErrors(body: string | undefined): FieldError[] {
  const json = parseJson(body);
  if (!isRecord(json) || !Array.isArray(json.errors)) return [];
  return json.errors.filter(isRecord).map((e) => ({
    field: typeof e.field === 'string' ? e.field : '',
    message: typeof e.message === 'string' ? e.message : '',
    code: typeof e.code === 'string' ? e.code : '',
    additional_info: isRecord(e.additional_info) ? e.additional_info : undefined,
  }));
}

/** One line that says what Freshdesk objected to: `field: message (code)` for each error, or its message. */
export function summarizeFreshdeskBody(body: string): string {
  const errors = fieldErrors(body);
  if (errors.length > 0) return errors.map((e) => `${e.field ? `${e.field}: ` : ''}${e.message}${e.code ? ` (${e.code})` : ''}`).join('; ');
  const json = parseJson(body);
  if (isRecord(json)) {
    const parts = [json.code, json.message ?? json.description].filter((s): s is string => typeof s === 'string');
    if (parts.length > 0) return parts.join(': ');
  }
  return body.trim().split('\n')[0]?.slice(0, 200) ?? '';
}

/** Sorts a Freshdesk error answer: the core rules, refined where Freshdesk differs. */
export function freshdeskError(what: string, status: number, body: string, headers: { get(name: string): string | null }): DeliveryError {
  const base = errorFromResponse(what, status, body, headers);
  const summary = summarizeFreshdeskBody(body);
  const said = summary ? `: ${summary}` : '';
  const init = { status, detail: base.detail };
  if (status === 429) {
    return new DeliveryError(`${what}: rate limited by Freshdesk (429)${said}`, { ...init, kind: 'rate_limited', retryAfterMs: base.retryAfterMs ?? DEFAULT_RATE_LIMIT_WAIT_MS });
  }
  if (status === 401 || status === 403) {
    return new DeliveryError(`${what}: Freshdesk rejected the API key (${status})${said}`, { ...init, kind: 'permanent' });
  }
  if (status === 404 && body.trim() === '') {
    // Freshdesk answers a wrong subdomain with an empty 404.
    return new DeliveryError(`${what}: no Freshdesk account answers at this address (404 without a body); check helpdesk.baseUrl`, { ...init, kind: 'permanent' });
  }
  if (status >= 500 || status === 408) {
    // A write may have been applied before any 5xx.
    return new DeliveryError(`${what}: Freshdesk answered ${status}${said}`, { ...init, kind: 'retry', retryAfterMs: base.retryAfterMs, ambiguous: true });
  }
  if (status === 400 || status === 409) {
    return new DeliveryError(`${what}: Freshdesk refused it (${status})${said}`, { ...init, kind: 'permanent' });
  }
  return new DeliveryError(`${what}: Freshdesk answered ${status}${said}`, { ...init, kind: base.kind, retryAfterMs: base.retryAfterMs, ambiguous: base.ambiguous });
}

/** fetch's own "fetch failed" says nothing; name the underlying cause (ECONNREFUSED, timeout). */
export function freshdeskNetworkError(what: string, err: unknown): DeliveryError {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : undefined;
  if (!cause) return errorFromNetwork(what, err);
  const code = (cause as { code?: unknown }).code;
  const described = new Error(`${err instanceof Error ? err.message : String(err)} (${typeof code === 'string' ? `${code} ` : ''}${cause.message})`, { cause: err });
  described.name = err instanceof Error ? err.name : 'Error';
  return errorFromNetwork(what, described);
}

export const isNotFound = (err: unknown): boolean => err instanceof DeliveryError && err.status === 404;

/** A 409/400 `duplicate_value` on a contact field: the contact exists, maybe with its id. */
export function duplicateOf(err: unknown): { field: string; userId?: number } | undefined {
  if (!(err instanceof DeliveryError) || (err.status !== 409 && err.status !== 400)) return undefined;
  const dup = fieldErrors(err.detail).find((e) => e.code === 'duplicate_value');
  if (!dup) return undefined;
  const userId = dup.additional_info?.user_id;
  return { field: dup.field, userId: typeof userId === 'number' ? userId : undefined };
}

/** A 400 naming `field`, e.g. a `user_id` of a contact that was merged away. */
export function refusesField(err: unknown, field: string): boolean {
  return err instanceof DeliveryError && err.status === 400 && fieldErrors(err.detail).some((e) => e.field === field);
}
