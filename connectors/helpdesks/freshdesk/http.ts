import type { z } from 'zod';
import { apiUrlUnder, pacedFetch, parseJsonAnswer, rateSignalFrom, type RemoteApi } from '../../../src/core/rest.ts';
import { unlimited, type FetchedFile, type HelpdeskCommonOptions, type Logger, type RateLimiter, type RateSignal } from '../../../src/core/connector.ts';
import { fetchFile, paceWith } from '../../../src/kit/fetch/fetch-file.ts';
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
  readonly #api: RemoteApi & { name: string; log: Logger };

  constructor(init: FreshdeskHttpInit) {
    this.baseUrl = init.baseUrl.replace(/\/+$/, '');
    this.#origin = new URL(this.baseUrl).origin;
    this.#authorization = init.authorization;
    this.#api = {
      name: 'freshdesk',
      log: init.log,
      timeoutMs: init.timeoutMs,
      limiter: init.limiter ?? unlimited,
      signalOf: freshdeskRateSignal,
      errorOf: freshdeskError,
      networkErrorOf: freshdeskNetworkError,
    };
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
    const { headers: answered, text } = await pacedFetch(this.#api, what, url, { method, headers, body, endpoint: opts.endpoint });
    return { data: parseJsonAnswer('Freshdesk', what, schema, text, method !== 'GET'), headers: answered };
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

  /**
   * Downloads a file through the guarded fetch: the credentials and the limiter only while the URL
   * stays on baseUrl's origin; a redirect (to the vendor's file storage) goes to public hosts only.
   */
  download(url: string, limits: HelpdeskCommonOptions['attachments']): Promise<FetchedFile> {
    const api = this.#api;
    return fetchFile(url, {
      ...limits,
      maxRedirects: MAX_REDIRECTS,
      trustedOrigins: [this.#origin],
      credentials: { origins: [this.#origin], headers: { authorization: this.#authorization } },
      pace: paceWith(api.limiter, api.signalOf),
    }, { errorOf: (what, status, body, headers) => api.errorOf(what, status, body, headers) });
  }
}
