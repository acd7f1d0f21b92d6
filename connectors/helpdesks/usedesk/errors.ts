import { DeliveryError, errorFromNetwork, errorFromResponse } from '../../../src/core/errors.ts';

/** Usedesk documents no Retry-After; a minute covers its per-minute limit. */
export const DEFAULT_RATE_LIMIT_WAIT_MS = 60_000;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An `error` in a 2xx body: Usedesk reports most failures that way. */
export function bodyError(json: unknown): { error: string; code?: number } | undefined {
  if (!isRecord(json)) return undefined;
  if (json.error !== undefined && json.error !== null && json.error !== false) {
    const code = typeof json.code === 'number' ? json.code : typeof json.code === 'string' && /^\d+$/.test(json.code) ? Number(json.code) : undefined;
    return { error: typeof json.error === 'string' ? json.error : JSON.stringify(json.error), code };
  }
  if (json.status === false) return { error: 'Usedesk answered "status": false' };
  return undefined;
}

/** Sorts an error Usedesk put in an answer's body (HTTP 200). */
export function usedeskBodyError(what: string, err: { error: string; code?: number }, body: string, wrote: boolean): DeliveryError {
  const init = { status: err.code, detail: body.slice(0, 8000) };
  if (err.code === 429 || /too many|rate limit/i.test(err.error)) {
    return new DeliveryError(`${what}: rate limited by Usedesk: ${err.error}`, { ...init, kind: 'rate_limited', retryAfterMs: DEFAULT_RATE_LIMIT_WAIT_MS });
  }
  if (err.code !== undefined && err.code >= 500) {
    return new DeliveryError(`${what}: Usedesk failed: ${err.error}`, { ...init, kind: 'retry', ambiguous: wrote });
  }
  if (/api_token|unauthori|forbidden/i.test(err.error)) {
    return new DeliveryError(`${what}: Usedesk refused the api_token: ${err.error}`, { ...init, kind: 'permanent' });
  }
  return new DeliveryError(`${what}: Usedesk refused it: ${err.error}`, { ...init, kind: 'permanent' });
}

/** Sorts an HTTP error answer from Usedesk. */
export function usedeskError(what: string, status: number, body: string, headers: { get(name: string): string | null }): DeliveryError {
  const base = errorFromResponse(what, status, body, headers);
  let said = '';
  try {
    const e = bodyError(JSON.parse(body));
    if (e) said = `: ${e.error}`;
  } catch {
    said = body.trim() ? `: ${body.trim().split('\n')[0]!.slice(0, 200)}` : '';
  }
  const init = { status, detail: base.detail };
  if (status === 429) return new DeliveryError(`${what}: rate limited by Usedesk (429)${said}`, { ...init, kind: 'rate_limited', retryAfterMs: base.retryAfterMs ?? DEFAULT_RATE_LIMIT_WAIT_MS });
  if (status === 401 || status === 403) return new DeliveryError(`${what}: Usedesk refused the api_token (${status})${said}`, { ...init, kind: 'permanent' });
  if (status >= 500 || status === 408) return new DeliveryError(`${what}: Usedesk answered ${status}${said}`, { ...init, kind: 'retry', retryAfterMs: base.retryAfterMs, ambiguous: true });
  return new DeliveryError(`${what}: Usedesk answered ${status}${said}`, { ...init, kind: base.kind, retryAfterMs: base.retryAfterMs, ambiguous: base.ambiguous });
}

export function usedeskNetworkError(what: string, err: unknown): DeliveryError {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : undefined;
  if (!cause) return errorFromNetwork(what, err);
  const code = (cause as { code?: unknown }).code;
  const described = new Error(`${err instanceof Error ? err.message : String(err)} (${typeof code === 'string' ? `${code} ` : ''}${cause.message})`, { cause: err });
  described.name = err instanceof Error ? err.name : 'Error';
  return errorFromNetwork(what, described);
}

/** "Ticket not found" and friends: the ticket is gone. */
export function isTicketGone(err: unknown): boolean {
  return err instanceof DeliveryError && err.kind === 'permanent' && (err.status === 404 || /not found/i.test(err.message));
}
