import type { z } from 'zod';
import { apiUrlUnder, rateSignalFrom } from '../../../src/core/rest.ts';
import { unlimited, type FetchedFile, type Logger, type RateLimiter, type RateSignal } from '../../../src/core/connector.ts';
import { DeliveryError } from '../../../src/core/errors.ts';
import { freshdeskError, freshdeskNetworkError } from './errors.ts';

export interface FreshdeskHttpInit {
  baseUrl: string;
  authorization: string;
  timeoutMs: number;
  limiter?: RateLimiter;
  log: Logger;
}

export interface RequestOptions {
  query?: Record<string, string | undefined>;
  json?: unknown;
  /** Multipart body (attachments); fetch sets its boundary. */
  form?: FormData;
  /** An endpoint with a rate cap of its own (tickets:create, tickets:list, …). */
  endpoint?: string;
}

const MAX_REDIRECTS = 5;

/** What Freshdesk's answer says about the account's limit (`X-RateLimit-Total`, `-Remaining`, `Retry-After`). */
export function freshdeskRateSignal(status: number, headers: { get(name: string): string | null }): RateSignal {
  return rateSignalFrom(status, headers, { limit: ['x-ratelimit-total'], remaining: ['x-ratelimit-remaining'] });
}

/** The one place that talks HTTP to Freshdesk: auth, timeout, pacing, paging and error sorting. */
export class FreshdeskHttp {
  readonly baseUrl: string;
  readonly #origin: string;
  readonly #authorization: string;
  readonly #timeoutMs: number;
  readonly #limiter: RateLimiter;
  readonly #log: Logger;

  constructor(init: FreshdeskHttpInit) {
    this.baseUrl = init.baseUrl.replace(/\/+$/, '');
    this.#origin = new URL(this.baseUrl).origin;
    this.#authorization = init.authorization;
    this.#timeoutMs = init.timeoutMs;
    this.#limiter = init.limiter ?? unlimited;
    this.#log = init.log;
  }

  /** A path below /api/v2, or a `Link: rel="next"` URL; only its path and query are kept, so the key only goes to baseUrl. */
  apiUrl(pathOrUrl: string, query: Record<string, string | undefined> = {}): string {
    return apiUrlUnder(this.baseUrl, '/api/v2', pathOrUrl, query);
  }


  async request<S extends z.ZodType>(
    what: string,
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    schema: S,
    opts: RequestOptions = {},
  ): Promise<{ data: z.infer<S>; headers: Headers }> {
    const url = this.apiUrl(path, opts.query);
    const headers: Record<string, string> = { accept: 'application/json', authorization: this.#authorization };
    let body: string | FormData | undefined;
    if (opts.form) body = opts.form;
    else if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] = 'application/json';
    }
    await this.#limiter.acquire(1, opts.endpoint);
    const started = Date.now();
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(this.#timeoutMs) });
      text = await res.text();
    } catch (err) {
      this.#limiter.observe({});
      this.#log.warn({ method, path: new URL(url).pathname, err: String(err) }, 'freshdesk request failed');
      throw freshdeskNetworkError(what, err);
    }
    this.#limiter.observe(freshdeskRateSignal(res.status, res.headers));
    this.#log.debug({ method, path: new URL(url).pathname, status: res.status, ms: Date.now() - started }, 'freshdesk');
    if (!res.ok) throw freshdeskError(what, res.status, text, res.headers);
    return { data: parseAnswer(what, schema, text, method !== 'GET'), headers: res.headers };
  }

  /** Every page of a list, following `Link: <…>; rel="next"`. */
  async list<S extends z.ZodType<unknown[]>>(what: string, path: string, schema: S, opts: { query?: Record<string, string>; maxPages: number }): Promise<z.infer<S>> {
    const items: unknown[] = [];
    let next: string | undefined = path;
    let query: Record<string, string> | undefined = { per_page: '100', ...opts.query };
    for (let page = 0; next && page < opts.maxPages; page++) {
      const answer: { data: unknown[]; headers: Headers } = await this.request(what, 'GET', next, schema, { query });
      items.push(...answer.data);
      next = /<([^>]+)>\s*;\s*rel="?next"?/i.exec(answer.headers.get('link') ?? '')?.[1];
      query = undefined;
    }
    return items as z.infer<S>;
  }

  /** Downloads a file; the API key goes along only while the URL stays on baseUrl's origin (not to S3). */
  async download(url: string): Promise<FetchedFile> {
    const what = 'download attachment';
    let current = new URL(url);
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const own = current.origin === this.#origin;
      if (own) await this.#limiter.acquire();
      let res: Response;
      try {
        res = await fetch(current, { headers: own ? { authorization: this.#authorization } : {}, redirect: 'manual', signal: AbortSignal.timeout(this.#timeoutMs) });
      } catch (err) {
        if (own) this.#limiter.observe({});
        throw freshdeskNetworkError(what, err);
      }
      if (own) this.#limiter.observe(freshdeskRateSignal(res.status, res.headers));
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        current = new URL(location, current);
        continue;
      }
      if (!res.ok) throw freshdeskError(what, res.status, await res.text(), res.headers);
      let data: Buffer;
      try {
        data = Buffer.from(await res.arrayBuffer());
      } catch (err) {
        throw freshdeskNetworkError(what, err);
      }
      const mime = (res.headers.get('content-type') ?? 'application/octet-stream').split(';')[0]!.trim();
      return { name: fileNameOf(res.headers.get('content-disposition'), new URL(url)), mime, data };
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
  throw new DeliveryError(`${what}: unexpected answer from Freshdesk (${where})`, { kind: 'retry', ambiguous: wrote, detail: text.slice(0, 8000) });
}

function fileNameOf(disposition: string | null, url: URL): string {
  const star = disposition?.match(/filename\*\s*=\s*(?:UTF-8'')?([^;]+)/i)?.[1];
  if (star) {
    try {
      return decodeURIComponent(star.trim().replace(/^"|"$/g, ''));
    } catch {
      // fall through
    }
  }
  const plain = disposition?.match(/filename\s*=\s*"?([^";]+)"?/i)?.[1];
  if (plain) return plain.trim();
  const last = url.pathname.split('/').filter(Boolean).pop();
  try {
    return last ? decodeURIComponent(last) : 'attachment';
  } catch {
    return last ?? 'attachment';
  }
}
