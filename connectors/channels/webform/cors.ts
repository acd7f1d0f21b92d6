/**
 * The origin allow-list. Browsers enforce CORS from the headers we send; the POST handler
 * also refuses a listed-out origin outright, since a simple form POST is sent without a preflight.
 */

export interface CorsDecision {
  /** false only when an allow-list exists and the request's Origin is not on it. */
  allowed: boolean;
  /** Headers every response to this request carries. */
  headers: Record<string, string>;
}

const ALLOW_HEADERS = 'Content-Type, Accept, Idempotency-Key';

export function corsFor(origins: readonly string[] | undefined, origin: string | undefined): CorsDecision {
  if (!origins) return { allowed: true, headers: {} };
  const vary = { vary: 'Origin' };
  // Requests without an Origin (curl, servers) are not cross-origin browser requests.
  if (origin === undefined) return { allowed: true, headers: vary };
  if (!origins.includes(origin)) return { allowed: false, headers: vary };
  return {
    allowed: true,
    headers: { ...vary, 'access-control-allow-origin': origin, 'access-control-expose-headers': 'Retry-After' },
  };
}

export function preflightHeaders(): Record<string, string> {
  return {
    'access-control-allow-methods': 'POST, OPTIONS',
    'access-control-allow-headers': ALLOW_HEADERS,
    'access-control-max-age': '600',
  };
}
