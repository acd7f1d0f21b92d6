import type { HelpdeskContext, HistoryReader } from '../../../src/core/connector.ts';
import { patiently } from '../../../src/kit/helpdesk-http/patiently.ts';
import { FdTickets } from './api.ts';
import { FreshdeskHttp } from './http.ts';
import { authorizationFor, type FreshdeskOptions } from './options.ts';

/**
 * The tickets agents handled, from Freshdesk's ticket list: `updated_since` with
 * `include=description` (the first message, with `description_text` as plain text) and the
 * ticket's current tags. Paced as `tickets:list`, Freshdesk's own cap for list calls; Freshdesk
 * serves at most 300 pages of 100.
 */

const MAX_PAGES = 300;

export function createFreshdeskHistory(options: FreshdeskOptions, ctx: HelpdeskContext): HistoryReader {
  const http = new FreshdeskHttp({
    baseUrl: options.baseUrl,
    authorization: authorizationFor(options.apiKey),
    timeoutMs: options.timeoutMs,
    limiter: ctx.limiter,
    log: ctx.log.child({ helpdesk: 'freshdesk' }),
  });
  return {
    async *tickets({ since, onProgress }) {
      let count = 0;
      for (let page = 1; page <= MAX_PAGES; page++) {
        const query = { updated_since: since.toISOString(), include: 'description', order_by: 'created_at', order_type: 'asc', per_page: '100', page: String(page) };
        const { data } = await patiently(() => http.request('list tickets', 'GET', '/tickets', FdTickets, { query, endpoint: 'tickets:list' }));
        for (const t of data) {
          if (t.deleted) continue;
          yield {
            id: String(t.id),
            text: t.description_text ?? t.description ?? '',
            tags: t.tags ?? [],
            ...(t.created_at ? { createdAt: t.created_at } : {}),
            ...(t.subject ? { subject: t.subject } : {}),
          };
          count++;
        }
        onProgress?.(count);
        if (data.length < 100) return;
      }
    },
  };
}
