import type { z } from 'zod';
import { unlimited, type FetchedFile, type HelpdeskCommonOptions, type Logger, type RateLimiter, type RateSignal } from '../../core/connector.ts';
import { DeliveryError, parseRetryAfter } from '../../core/errors.ts';
import { fetchFile, paceWith } from '../fetch/fetch-file.ts';
import { networkError, sortAnswer, type VendorAnswers } from './answer-errors.ts';

/**
 * The one HTTP client every helpdesk connector talks through, configured per vendor: where its API
 * lives, how it authenticates, which headers carry its rate limit, and how its errors are sorted.
 */

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
export function parseJsonAnswer<S extends z.ZodType>(vendor: string, what: string, schema: S, text: string, wrote: boolean, json: unknown = jsonOrEmpty(text)): z.infer<S> {
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const where = parsed.error.issues[0]?.path.join('.') || 'body';
  throw new DeliveryError(`${what}: unexpected answer from ${vendor} (${where})`, { kind: 'retry', ambiguous: wrote, detail: text.slice(0, 8000) });
}

function jsonOrEmpty(text: string): unknown {
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    return undefined;
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

export interface HelpdeskHttpInit {
  /** For logs, e.g. `zendesk`. */
  name: string;
  baseUrl: string;
  /** Where the API lives below baseUrl, e.g. `/api/v2` ('' when the caller names full paths). */
  apiPrefix: string;
  /** The Authorization header; absent when the vendor takes its token elsewhere (Usedesk: in the body). */
  authorization?: string;
  timeoutMs: number;
  limiter?: RateLimiter;
  log: Logger;
  /** The headers that carry the account's limit and what is left of it; the first present wins. */
  rateHeaders: { limit: string[]; remaining: string[] };
  /** How the vendor's error answers read. */
  answers: VendorAnswers;
}

export interface RequestOptions {
  query?: Record<string, string | undefined>;
  json?: unknown;
  /** Raw bytes (an upload), sent as `contentType`. */
  body?: Buffer;
  contentType?: string;
  /** Multipart body (attachments); fetch sets its boundary. */
  form?: FormData;
  headers?: Record<string, string>;
  /** An endpoint with a rate cap of its own (Freshdesk's tickets:create, …). */
  endpoint?: string;
}

export interface HelpdeskAnswer<T> {
  data: T;
  status: number;
  headers: Headers;
}

const MAX_REDIRECTS = 5;

/** Auth, timeout, pacing, rate headers and error sorting for one helpdesk's API. */
export class HelpdeskHttp {
  readonly baseUrl: string;
  readonly #init: HelpdeskHttpInit;
  readonly #api: RemoteApi & { name: string; log: Logger };

  constructor(init: HelpdeskHttpInit) {
    this.baseUrl = init.baseUrl.replace(/\/+$/, '');
    this.#init = init;
    const { answers, rateHeaders } = init;
    this.#api = {
      name: init.name,
      log: init.log,
      timeoutMs: init.timeoutMs,
      limiter: init.limiter ?? unlimited,
      signalOf: (status, headers) => rateSignalFrom(status, headers, rateHeaders),
      errorOf: (what, status, body, headers) => sortAnswer(answers, what, status, body, headers),
      networkErrorOf: networkError,
    };
  }

  /**
   * A path below the API prefix, or a paging URL from an earlier answer of which only the part from
   * the prefix on is kept, so the credentials only ever go to baseUrl.
   */
  apiUrl(pathOrUrl: string, query: Record<string, string | undefined> = {}): string {
    return apiUrlUnder(this.baseUrl, this.#init.apiPrefix, pathOrUrl, query);
  }

  /** One paced request; the answer's text for the caller to read. Error answers throw, sorted. */
  send(what: string, method: string, url: string, req: Omit<PacedRequest, 'method'>): Promise<{ status: number; headers: Headers; text: string }> {
    const auth = this.#init.authorization;
    return pacedFetch(this.#api, what, url, { ...req, method, headers: { ...req.headers, ...(auth ? { authorization: auth } : {}) } });
  }

  /** A JSON API call read with `schema`. */
  async request<S extends z.ZodType>(what: string, method: 'GET' | 'POST' | 'PUT', path: string, schema: S, opts: RequestOptions = {}): Promise<HelpdeskAnswer<z.infer<S>>> {
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    let body: string | Uint8Array | FormData | undefined;
    if (opts.form) body = opts.form;
    else if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] = 'application/json';
    } else if (opts.body) {
      body = new Uint8Array(opts.body);
      headers['content-type'] = opts.contentType ?? 'application/octet-stream';
    }
    const { status, headers: answered, text } = await this.send(what, method, this.apiUrl(path, opts.query), { headers, body, endpoint: opts.endpoint });
    return { data: parseJsonAnswer(this.#init.answers.vendor, what, schema, text, method !== 'GET'), status, headers: answered };
  }

  /**
   * Downloads an attachment through the guarded fetch: the credentials and the limiter only while
   * the URL stays on baseUrl's origin (trusted as configured); a link or redirect elsewhere (the
   * vendor's file storage) goes to public addresses only, unless the config allows private ones.
   */
  download(url: string, limits: HelpdeskCommonOptions['attachments']): Promise<FetchedFile> {
    const api = this.#api;
    const origin = new URL(this.baseUrl).origin;
    const auth = this.#init.authorization;
    return fetchFile(url, {
      ...limits,
      maxRedirects: MAX_REDIRECTS,
      trustedOrigins: [origin],
      ...(auth ? { credentials: { origins: [origin], headers: { authorization: auth } }, pace: paceWith(api.limiter, api.signalOf) } : {}),
    }, { errorOf: (what, status, body, headers) => api.errorOf(what, status, body, headers) });
  }
}
