import type { z } from 'zod';
import type { FetchedFile, RateSignal } from '../../../src/core/connector.ts';
import { parseJson } from '../../../src/kit/helpdesk-http/answer-errors.ts';
import { HelpdeskHttp, parseJsonAnswer, rateSignalFrom, type HelpdeskHttpInit } from '../../../src/kit/helpdesk-http/client.ts';
import { bodyError, USEDESK_ANSWERS, usedeskBodyError } from './errors.ts';

export interface UsedeskHttpInit extends Pick<HelpdeskHttpInit, 'baseUrl' | 'timeoutMs' | 'limiter' | 'log'> {
  apiToken: string;
}

/** Usedesk documents no rate headers; the usual ones are read should it send them, and Retry-After. */
const RATE_HEADERS = { limit: ['x-ratelimit-limit', 'x-ratelimit-total'], remaining: ['x-ratelimit-remaining'] };

export function usedeskRateSignal(status: number, headers: { get(name: string): string | null }): RateSignal {
  return rateSignalFrom(status, headers, RATE_HEADERS);
}

/**
 * The kit's helpdesk client, set up for Usedesk: every method is a POST with `api_token` in the
 * body (JSON, or multipart when files go along), and an `error` in a 200 answer is an error too.
 */
export class UsedeskHttp extends HelpdeskHttp {
  readonly #apiToken: string;

  constructor(init: UsedeskHttpInit) {
    super({ ...init, name: 'usedesk', apiPrefix: '', rateHeaders: RATE_HEADERS, answers: USEDESK_ANSWERS });
    this.#apiToken = init.apiToken;
  }

  /** Calls `method` (e.g. `/create/ticket`); `wrote` says whether a lost answer may hide an applied write. */
  async call<S extends z.ZodType>(what: string, method: string, params: Record<string, unknown>, schema: S, opts: { files?: FetchedFile[]; wrote?: boolean } = {}): Promise<z.infer<S>> {
    const wrote = opts.wrote ?? true;
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
    const { text } = await this.send(what, 'POST', this.apiUrl(method), { headers, body });
    const json = parseJson(text);
    const refused = bodyError(json);
    if (refused) throw usedeskBodyError(what, refused, text, wrote);
    return parseJsonAnswer('Usedesk', what, schema, text, wrote, json);
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
