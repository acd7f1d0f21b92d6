import type { RateSignal } from '../../../src/core/connector.ts';
import { HelpdeskHttp, rateSignalFrom, type HelpdeskHttpInit } from '../../../src/kit/helpdesk-http/client.ts';
import { ZENDESK_ANSWERS } from './errors.ts';

export type ZendeskHttpInit = Pick<HelpdeskHttpInit, 'baseUrl' | 'authorization' | 'timeoutMs' | 'limiter' | 'log'>;

/** `X-Rate-Limit` and `X-Rate-Limit-Remaining` (and `Retry-After`). */
const RATE_HEADERS = { limit: ['x-rate-limit'], remaining: ['x-rate-limit-remaining'] };

/** What Zendesk's answer says about the account's rate limit. */
export function zendeskRateSignal(status: number, headers: { get(name: string): string | null }): RateSignal {
  return rateSignalFrom(status, headers, RATE_HEADERS);
}

/** The kit's helpdesk client, set up for Zendesk's API below /api/v2. */
export class ZendeskHttp extends HelpdeskHttp {
  constructor(init: ZendeskHttpInit) {
    super({ ...init, name: 'zendesk', apiPrefix: '/api/v2', rateHeaders: RATE_HEADERS, answers: ZENDESK_ANSWERS });
  }
}
