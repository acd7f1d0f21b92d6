import type { z } from 'zod';
import { apiUrlUnder, rateSignalFrom } from '../../../src/core/rest.ts';
import { unlimited, type FetchedFile, type Logger, type RateLimiter, type RateSignal } from '../../../src/core/connector.ts';
import { DeliveryError } from '../../../src/core/errors.ts';
import { zendeskError, zendeskNetworkError } from './errors.ts';

export interface ZendeskHttpInit {
  baseUrl: string;
  authorization: string;
  timeoutMs: number;
  limiter?: RateLimiter;
  log: Logger;
}

export interface RequestOptions {
  query?: Record<string, string | undefined>;
  json?: unknown;
  body?: Buffer;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface ZendeskAnswer<T> {
  data: T;
  status: number;
  headers: Headers;
}

const MAX_REDIRECTS = 5;

/** What Zendesk's answer says about the account's rate limit (`X-Rate-Limit`, `X-Rate-Limit-Remaining`, `Retry-After`). */
export function zendeskRateSignal(status: number, headers: { get(name: string): string | null }): RateSignal {
  return rateSignalFrom(status, headers, { limit: ['x-rate-limit'], remaining: ['x-rate-limit-remaining'] });
}

/** The one place that talks HTTP to Zendesk: auth, timeout, pacing, and error sorting. */
export class ZendeskHttp {
  readonly baseUrl: string;
  readonly #origin: string;
  readonly #authorization: string;
  readonly #timeoutMs: number;
  readonly #limiter: RateLimiter;
  readonly #log: Logger;

  constructor(init: ZendeskHttpInit) {
    this.baseUrl = init.baseUrl.replace(/\/+$/, '');
    this.#origin = new URL(this.baseUrl).origin;
    this.#authorization = init.authorization;
    this.#timeoutMs = init.timeoutMs;
    this.#limiter = init.limiter ?? unlimited;
    this.#log = init.log;
  }

  /**
   * A path below /api/v2, or a `next_page` URL from an earlier answer. Of a URL only the part from
   * /api/v2 on is kept, so the credentials only ever go to baseUrl.
   */
  apiUrl(pathOrUrl: string, query: Record<string, string | undefined> = {}): string {
    return apiUrlUnder(this.baseUrl, '/api/v2', pathOrUrl, query);
  }


  async request<S extends z.ZodType>(
    what: string,
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    schema: S,
    opts: RequestOptions = {},
  ): Promise<ZendeskAnswer<z.infer<S>>> {
    const url = this.apiUrl(path, opts.query);
    const headers: Record<string, string> = { accept: 'application/json', authorization: this.#authorization, ...opts.headers };
    let body: string | Uint8Array | undefined;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] = 'application/json';
    } else if (opts.body) {
      body = new Uint8Array(opts.body);
      headers['content-type'] = opts.contentType ?? 'application/octet-stream';
    }
    await this.#limiter.acquire();
    const started = Date.now();
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(this.#timeoutMs) });
      text = await res.text();
    } catch (err) {
      this.#limiter.observe({});
      this.#log.warn({ method, path: new URL(url).pathname, err: String(err) }, 'zendesk request failed');
      throw zendeskNetworkError(what, err);
    }
    this.#limiter.observe(zendeskRateSignal(res.status, res.headers));
    this.#log.debug({ method, path: new URL(url).pathname, status: res.status, ms: Date.now() - started }, 'zendesk');
    if (!res.ok) throw zendeskError(what, res.status, text, res.headers);
    return { data: parseAnswer(what, schema, text, method !== 'GET'), status: res.status, headers: res.headers };
  }

  /** Downloads a file; the credentials go along only while the URL stays on baseUrl's origin. */
  async download(url: string): Promise<FetchedFile> {
    const what = 'download attachment';
    let current = new URL(url);
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      // Only requests to Zendesk itself count against its limit; a CDN's do not.
      const own = current.origin === this.#origin;
      const headers: Record<string, string> = own ? { authorization: this.#authorization } : {};
      if (own) await this.#limiter.acquire();
      let res: Response;
      try {
        res = await fetch(current, { headers, redirect: 'manual', signal: AbortSignal.timeout(this.#timeoutMs) });
      } catch (err) {
        if (own) this.#limiter.observe({});
        throw zendeskNetworkError(what, err);
      }
      if (own) this.#limiter.observe(zendeskRateSignal(res.status, res.headers));
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        current = new URL(location, current);
        continue;
      }
      if (!res.ok) throw zendeskError(what, res.status, await res.text(), res.headers);
      let data: Buffer;
      try {
        data = Buffer.from(await res.arrayBuffer());
      } catch (err) {
        throw zendeskNetworkError(what, err);
      }
      const mime = (res.headers.get('content-type') ?? 'application/octet-stream').split(';')[0]!.trim();
      return { name: fileNameOf(res.headers.get('content-disposition'), new URL(url), current), mime, data };
    }
    throw new DeliveryError(`${what}: more than ${MAX_REDIRECTS} redirects`, { kind: 'permanent' });
  }
}

function parseAnswer<S extends z.ZodType>(what: string, schema: S, text: string, wrote: boolean): z.infer<S> {
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = undefined;
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const where = parsed.error.issues[0]?.path.join('.') || 'body';
  // A 2xx we cannot read after a write may still have been applied.
  throw new DeliveryError(`${what}: unexpected answer from Zendesk (${where})`, {
    kind: 'retry',
    ambiguous: wrote,
    detail: text.slice(0, 8000),
  });
}

/** The name from Content-Disposition, else the `name` Zendesk puts in content_url, else the URL's last segment. */
function fileNameOf(disposition: string | null, asked: URL, served: URL): string {
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
  const fromQuery = asked.searchParams.get('name') ?? served.searchParams.get('name');
  if (fromQuery) return fromQuery;
  const last = asked.pathname.split('/').filter(Boolean).pop();
  return last ? decodeURIComponent(last) : 'attachment';
}
