import type { z } from 'zod';
import type { RateSignal } from '../../../src/core/connector.ts';
import { HelpdeskHttp, rateSignalFrom, type HelpdeskHttpInit } from '../../../src/kit/helpdesk-http/client.ts';
import { FRESHDESK_ANSWERS } from './errors.ts';

export type FreshdeskHttpInit = Pick<HelpdeskHttpInit, 'baseUrl' | 'authorization' | 'timeoutMs' | 'limiter' | 'log'>;

/** `X-RateLimit-Total` and `X-RateLimit-Remaining` (and `Retry-After`). */
const RATE_HEADERS = { limit: ['x-ratelimit-total'], remaining: ['x-ratelimit-remaining'] };

/** What Freshdesk's answer says about the account's limit. */
export function freshdeskRateSignal(status: number, headers: { get(name: string): string | null }): RateSignal {
  return rateSignalFrom(status, headers, RATE_HEADERS);
}

/** The kit's helpdesk client, set up for Freshdesk's API below /api/v2, with its paging. */
export class FreshdeskHttp extends HelpdeskHttp {
  constructor(init: FreshdeskHttpInit) {
    super({ ...init, name: 'freshdesk', apiPrefix: '/api/v2', rateHeaders: RATE_HEADERS, answers: FRESHDESK_ANSWERS });
  }

  /** Every page of a list, following `Link: <…>; rel="next"` (only its path and query: the key only goes to baseUrl). */
  async list<S extends z.ZodType<unknown[]>>(what: string, path: string, schema: S, opts: { query?: Record<string, string>; maxPages: number }): Promise<z.infer<S>> {
    const items: unknown[] = [];
    let next: string | undefined = path;
    let query: Record<string, string> | undefined = { per_page: '100', ...opts.query };
    for (let page = 0; next && page < opts.maxPages; page++) {
      const answer: { data: unknown[]; headers: Headers } = await this.request(what, 'GET', next, schema, { query });
      items.push(...answer.data);
      next = /<([^<>]+)>\s*;\s*rel="?next"?/i.exec(answer.headers.get('link') ?? '')?.[1];
      query = undefined;
    }
    return items as z.infer<S>;
  }
}
