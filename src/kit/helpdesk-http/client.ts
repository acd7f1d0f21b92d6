import type { z } from 'zod';
import type { FetchedFile, Logger, RateLimiter, RateSignal } from '../../core/connector.ts';
import { DeliveryError, parseRetryAfter } from '../../core/errors.ts';

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

/**
 * Reads a 2xx JSON answer with its schema. An answer we cannot read after a write may still have
 * been applied, so it is a retry marked ambiguous (the next attempt reconciles first).
 */
export function parseJsonAnswer<S extends z.ZodType>(vendor: string, what: string, schema: S, text: string, wrote: boolean): z.infer<S> {
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = undefined;
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const where = parsed.error.issues[0]?.path.join('.') || 'body';
  throw new DeliveryError(`${what}: unexpected answer from ${vendor} (${where})`, { kind: 'retry', ambiguous: wrote, detail: text.slice(0, 8000) });
}

/** The name from Content-Disposition, else a `name` query parameter of any of the URLs, else the first URL's last segment. */
export function downloadedFileName(disposition: string | null, ...urls: URL[]): string {
  const star = disposition?.match(/filename\*\s*=\s*(?:UTF-8'')?([^;]+)/i)?.[1];
  if (star) {
    try {
      return decodeURIComponent(star.trim().replace(/^"|"$/g, ''));
    } catch {
      // fall through to the plain filename
    }
  }
  const plain = disposition?.match(/filename\s*=\s*"?([^";]+)"?/i)?.[1];
  if (plain) return plain.trim();
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

/** How one helpdesk is paced and how its answers are read: its rate headers and its errors. */
export interface RemoteApi {
  timeoutMs: number;
  limiter: RateLimiter;
  signalOf(status: number, headers: HeaderBag): RateSignal;
  errorOf(what: string, status: number, body: string, headers: HeaderBag): DeliveryError;
  networkErrorOf(what: string, err: unknown): DeliveryError;
}

export interface PacedRequest {
  method: string;
  headers: Record<string, string>;
  body?: string | Uint8Array | FormData;
  /** An endpoint with a rate cap of its own (Freshdesk's tickets:create, …). */
  endpoint?: string;
}

/**
 * One request to a helpdesk's API: waits its turn at the limiter, times out, tells the limiter
 * what the answer said about the account's limit, and turns a failure into a DeliveryError of
 * the vendor's own words. Returns the answer's text for the caller to parse.
 */
export async function pacedFetch(
  api: RemoteApi & { name: string; log: Logger },
  what: string,
  url: string,
  req: PacedRequest,
): Promise<{ status: number; headers: Headers; text: string }> {
  const path = new URL(url).pathname;
  await api.limiter.acquire(1, req.endpoint);
  const started = Date.now();
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { method: req.method, headers: req.headers, body: req.body, signal: AbortSignal.timeout(api.timeoutMs) });
    text = await res.text();
  } catch (err) {
    api.limiter.observe({});
    api.log.warn({ method: req.method, path, err: String(err) }, `${api.name} request failed`);
    throw api.networkErrorOf(what, err);
  }
  api.limiter.observe(api.signalOf(res.status, res.headers));
  api.log.debug({ method: req.method, path, status: res.status, ms: Date.now() - started }, api.name);
  if (!res.ok) throw api.errorOf(what, res.status, text, res.headers);
  return { status: res.status, headers: res.headers, text };
}

export interface GuardedDownload extends RemoteApi {
  /** The helpdesk's own origin: only requests there carry credentials and count against its limit. */
  origin: string;
  authorization: string;
  maxRedirects: number;
}

/** Downloads an attachment, following redirects by hand so credentials never reach a CDN or another host. */
export async function downloadGuarded(url: string, g: GuardedDownload): Promise<FetchedFile> {
  const what = 'download attachment';
  let current = new URL(url);
  for (let hop = 0; hop <= g.maxRedirects; hop++) {
    const own = current.origin === g.origin;
    if (own) await g.limiter.acquire();
    let res: Response;
    try {
      res = await fetch(current, { headers: own ? { authorization: g.authorization } : {}, redirect: 'manual', signal: AbortSignal.timeout(g.timeoutMs) });
    } catch (err) {
      if (own) g.limiter.observe({});
      throw g.networkErrorOf(what, err);
    }
    if (own) g.limiter.observe(g.signalOf(res.status, res.headers));
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      current = new URL(location, current);
      continue;
    }
    if (!res.ok) throw g.errorOf(what, res.status, await res.text(), res.headers);
    let data: Buffer;
    try {
      data = Buffer.from(await res.arrayBuffer());
    } catch (err) {
      throw g.networkErrorOf(what, err);
    }
    const mime = (res.headers.get('content-type') ?? 'application/octet-stream').split(';')[0]!.trim();
    return { name: downloadedFileName(res.headers.get('content-disposition'), new URL(url), current), mime, data };
  }
  throw new DeliveryError(`${what}: more than ${g.maxRedirects} redirects`, { kind: 'permanent' });
}

/** Reads the body, giving up (undefined) as soon as it exceeds `max` bytes. */
export async function readCapped(res: Response, max: number): Promise<Buffer | undefined> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel();
    return undefined;
  }
  if (!res.body) return Buffer.alloc(0);
  const reader = res.body.getReader();
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks, total);
}
