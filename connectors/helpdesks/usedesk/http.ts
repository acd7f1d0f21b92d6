import type { z } from 'zod';
import { pacedFetch, rateSignalFrom, type RemoteApi } from '../../../src/core/rest.ts';
import { unlimited, type FetchedFile, type HelpdeskCommonOptions, type Logger, type RateLimiter, type RateSignal } from '../../../src/core/connector.ts';
import { DeliveryError } from '../../../src/core/errors.ts';
import { fetchFile } from '../../../src/kit/fetch/fetch-file.ts';
import { bodyError, usedeskBodyError, usedeskError, usedeskNetworkError } from './errors.ts';

export interface UsedeskHttpInit {
  baseUrl: string;
  apiToken: string;
  timeoutMs: number;
  limiter?: RateLimiter;
  log: Logger;
}

/** Usedesk documents no rate headers; the usual ones are read should it send them, and Retry-After. */
export function usedeskRateSignal(status: number, headers: { get(name: string): string | null }): RateSignal {
  return rateSignalFrom(status, headers, { limit: ['x-ratelimit-limit', 'x-ratelimit-total'], remaining: ['x-ratelimit-remaining'] });
}

/**
 * The one place that talks HTTP to Usedesk: every method is a POST with `api_token` in the body
 * (JSON, or multipart when files go along), and an `error` in a 200 answer is an error too.
 */
export class UsedeskHttp {
  readonly baseUrl: string;
  readonly #apiToken: string;
  readonly #api: RemoteApi & { name: string; log: Logger };

  constructor(init: UsedeskHttpInit) {
    this.baseUrl = init.baseUrl.replace(/\/+$/, '');
    this.#apiToken = init.apiToken;
    this.#api = {
      name: 'usedesk',
      log: init.log,
      timeoutMs: init.timeoutMs,
      limiter: init.limiter ?? unlimited,
      signalOf: usedeskRateSignal,
      errorOf: usedeskError,
      networkErrorOf: usedeskNetworkError,
    };
  }

  /** Calls `method` (e.g. `/create/ticket`); `wrote` says whether a lost answer may hide an applied write. */
  async call<S extends z.ZodType>(what: string, method: string, params: Record<string, unknown>, schema: S, opts: { files?: FetchedFile[]; wrote?: boolean } = {}): Promise<z.infer<S>> {
    const wrote = opts.wrote ?? true;
    const url = `${this.baseUrl}${method}`;
    let body: string | FormData;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (opts.files && opts.files.length > 0) {
      const form = new FormData();
      form.append('api_token', this.#apiToken);
      for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) form.append(k, String(v));
      for (const f of opts.files) form.append('files[]', new Blob([new Uint8Array(f.data)], { type: f.mime }), f.name);
      body = form;
    } else {
      body = JSON.stringify({ api_token: this.#apiToken, ...params });
      headers['content-type'] = 'application/json';
    }
    const { text } = await pacedFetch(this.#api, what, url, { method: 'POST', headers, body });
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    const refused = bodyError(json);
    if (refused) throw usedeskBodyError(what, refused, text, wrote);
    const parsed = schema.safeParse(json);
    if (parsed.success) return parsed.data;
    const where = parsed.error.issues[0]?.path.join('.') || 'body';
    throw new DeliveryError(`${what}: unexpected answer from Usedesk (${where})`, { kind: 'retry', ambiguous: wrote, detail: text.slice(0, 8000) });
  }

  /** Files of comments are plain links (on Usedesk's file storage); no credentials go with them. */
  download(url: string, limits: HelpdeskCommonOptions['attachments']): Promise<FetchedFile> {
    const api = this.#api;
    return fetchFile(url, { ...limits, trustedOrigins: [new URL(this.baseUrl).origin] }, {
      errorOf: (what, status, body, headers) => api.errorOf(what, status, body, headers),
    });
  }
}

export function fileNameOf(url: URL): string {
  const last = url.pathname.split('/').filter(Boolean).pop();
  try {
    return last ? decodeURIComponent(last) : 'attachment';
  } catch {
    return last ?? 'attachment';
  }
}
