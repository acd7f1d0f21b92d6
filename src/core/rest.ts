import type { RateSignal } from './connector.ts';
import { parseRetryAfter } from './errors.ts';

/** Small pieces every helpdesk's HTTP client needs, so each one reads its vendor's answer the same way. */

type HeaderBag = { get(name: string): string | null };

/**
 * What an answer says about the account's rate limit. Header names differ per vendor
 * (`X-Rate-Limit` at Zendesk, `X-RateLimit-Total` at Freshdesk); the first present wins.
 */
export function rateSignalFrom(status: number, headers: HeaderBag, names: { limit: string[]; remaining: string[] }): RateSignal {
  const number = (candidates: string[]): number | undefined => {
    for (const name of candidates) {
      const v = headers.get(name);
      if (v !== null && /^\d+$/.test(v.trim())) return Number(v);
    }
    return undefined;
  };
  return {
    limit: number(names.limit),
    remaining: number(names.remaining),
    retryAfterMs: status === 429 || status === 503 ? parseRetryAfter(headers.get('retry-after')) : undefined,
    limited: status === 429,
  };
}

/**
 * A path below `apiPrefix`, or a paging URL from an earlier answer of which only the part from
 * `apiPrefix` on is kept: credentials only ever go to `baseUrl`, whatever host a next-page link names.
 */
export function apiUrlUnder(baseUrl: string, apiPrefix: string, pathOrUrl: string, query: Record<string, string | undefined> = {}): string {
  let path = pathOrUrl;
  if (/^https?:\/\//i.test(pathOrUrl)) {
    const u = new URL(pathOrUrl);
    const full = u.pathname + u.search;
    const at = full.indexOf(`${apiPrefix}/`);
    path = at >= 0 ? full.slice(at + apiPrefix.length) : full;
  }
  const url = new URL(`${baseUrl}${apiPrefix}${path}`);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
  return url.toString();
}
