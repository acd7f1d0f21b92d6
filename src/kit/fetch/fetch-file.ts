import type { FetchedFile, RateLimiter, RateSignal } from '../../core/connector.ts';
import { errorFromResponse, type DeliveryError } from '../../core/errors.ts';
import { guardedFetch, safeUrl, type FetchPolicy } from './guarded-fetch.ts';

export interface FileHints {
  /** The name to use when the answer does not give one (Content-Disposition). */
  name?: string;
  /** The type to use when the answer says none, or only application/octet-stream. */
  mime?: string;
  /** Sorts a non-2xx answer the vendor's way; default: 408/429/5xx retry, other 4xx permanent. */
  errorOf?: (what: string, status: number, body: string, headers: Headers) => DeliveryError;
}

/** A file by URL through the guarded fetch: name and type from the answer, else from the hints or the URL. */
export async function fetchFile(url: string, policy: FetchPolicy, hints: FileHints = {}): Promise<FetchedFile> {
  const res = await guardedFetch(url, policy);
  if (res.status < 200 || res.status >= 300) {
    throw (hints.errorOf ?? errorFromResponse)(policy.label ?? `download ${safeUrl(res.url)}`, res.status, res.body.toString('utf8'), res.headers);
  }
  const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
  const mime = type && type !== 'application/octet-stream' ? type : (hints.mime ?? (type || 'application/octet-stream'));
  return { name: fileName(res.headers.get('content-disposition')) ?? hints.name ?? nameFromUrls(new URL(url), res.url), mime, data: res.body };
}

/** The name a Content-Disposition gives (`filename*=UTF-8''…` first), if any. */
export function fileName(disposition: string | null): string | undefined {
  if (!disposition) return undefined;
  const star = /filename\*\s*=\s*(?:UTF-8'')?([^;]+)/i.exec(disposition)?.[1];
  if (star) {
    try {
      return decodeURIComponent(star.trim().replace(/^"|"$/g, ''));
    } catch {
      // fall through to the plain form
    }
  }
  return /filename\s*=\s*"?([^";]+)"?/i.exec(disposition)?.[1]?.trim() || undefined;
}

/** A `name` query parameter of any hop (signed CDN links carry it), else the first URL's last path segment. */
function nameFromUrls(...urls: URL[]): string {
  for (const u of urls) {
    const fromQuery = u.searchParams.get('name');
    if (fromQuery) return fromQuery;
  }
  const last = urls[0]?.pathname.split('/').filter(Boolean).pop();
  try {
    return last ? decodeURIComponent(last) : 'attachment';
  } catch {
    return last ?? 'attachment';
  }
}

/** Paces the requests to a helpdesk's own origin with its limiter, telling it what each answer said. */
export function paceWith(limiter: RateLimiter, signalOf: (status: number, headers: Headers) => RateSignal): NonNullable<FetchPolicy['pace']> {
  return {
    before: () => limiter.acquire(),
    after: (answer) => limiter.observe(answer ? signalOf(answer.status, answer.headers) : {}),
  };
}
