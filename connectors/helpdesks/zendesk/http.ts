import type { z } from 'zod';
import { apiUrlUnder, pacedFetch, parseJsonAnswer, rateSignalFrom, type RemoteApi } from '../../../src/core/rest.ts';
import { unlimited, type FetchedFile, type HelpdeskCommonOptions, type Logger, type RateLimiter, type RateSignal } from '../../../src/core/connector.ts';
import { fetchFile, paceWith } from '../../../src/kit/fetch/fetch-file.ts';
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
  readonly #api: RemoteApi & { name: string; log: Logger };

  constructor(init: ZendeskHttpInit) {
    this.baseUrl = init.baseUrl.replace(/\/+$/, '');
    this.#origin = new URL(this.baseUrl).origin;
    this.#authorization = init.authorization;
    this.#api = {
      name: 'zendesk',
      log: init.log,
      timeoutMs: init.timeoutMs,
      limiter: init.limiter ?? unlimited,
      signalOf: zendeskRateSignal,
      errorOf: zendeskError,
      networkErrorOf: zendeskNetworkError,
    };
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
    const { status, headers: answered, text } = await pacedFetch(this.#api, what, url, { method, headers, body });
    return { data: parseJsonAnswer('Zendesk', what, schema, text, method !== 'GET'), status, headers: answered };
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
