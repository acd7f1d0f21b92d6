import { DeliveryError } from '../../../src/core/errors.ts';
import { DEFAULT_RATE_LIMIT_WAIT_MS, firstLine, isRecord, type VendorAnswers } from '../../../src/kit/helpdesk-http/answer-errors.ts';

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

/** How Usedesk's HTTP error answers read (most of its errors come in a 200's body instead). */
export const USEDESK_ANSWERS: VendorAnswers = {
  vendor: 'Usedesk',
  refusedCredentials: 'refused the api_token',
  summarize(body) {
    try {
      return bodyError(JSON.parse(body))?.error ?? '';
    } catch {
      return firstLine(body);
    }
  },
};

/** "Ticket not found" and friends: the ticket is gone. */
export function isTicketGone(err: unknown): boolean {
  return err instanceof DeliveryError && err.kind === 'permanent' && (err.status === 404 || /not found/i.test(err.message));
}
