import { z } from 'zod';
import type { HelpdeskContext, HistoryReader, HistoryTicket } from '../../../src/core/connector.ts';
import { patiently, unixSeconds } from '../../../src/kit/helpdesk-http/patiently.ts';
import { ZendeskHttp } from './http.ts';
import { authorizationFor, type ZendeskOptions } from './options.ts';

/**
 * The tickets agents handled, from Zendesk's cursor-based incremental ticket export: each ticket
 * as it is now, with its final tags and `description` (the first comment). The export allows 10
 * requests a minute; a 429 is waited out (its Retry-After also pauses the shared limiter).
 */

const ExportPage = z.looseObject({
  tickets: z.array(z.looseObject({
    id: z.number().int(),
    created_at: z.string().nullish(),
    subject: z.string().nullish(),
    description: z.string().nullish(),
    tags: z.array(z.string()).nullish(),
    status: z.string().nullish(),
  })),
  after_cursor: z.string().nullish(),
  end_of_stream: z.boolean().nullish(),
});

/** One export page holds up to 1,000 tickets; this many pages is far past any real history. */
const MAX_PAGES = 10_000;

export function createZendeskHistory(options: ZendeskOptions, ctx: HelpdeskContext): HistoryReader {
  const http = new ZendeskHttp({
    baseUrl: options.baseUrl,
    authorization: authorizationFor(options),
    timeoutMs: options.timeoutMs,
    limiter: ctx.limiter,
    log: ctx.log.child({ helpdesk: 'zendesk' }),
  });
  return {
    async *tickets({ since, onProgress }) {
      // Zendesk refuses a start_time less than a minute old ("Too recent start_time").
      const start = Math.min(unixSeconds(since), unixSeconds(new Date()) - 61);
      let query: Record<string, string> = { start_time: String(start) };
      let count = 0;
      for (let page = 0; page < MAX_PAGES; page++) {
        const q = query;
        const { data } = await patiently(() => http.request('export tickets', 'GET', '/incremental/tickets/cursor.json', ExportPage, { query: q }));
        for (const t of data.tickets) {
          // Deleted tickets stay in the export with status "deleted".
          if (t.status === 'deleted') continue;
          const ticket: HistoryTicket = {
            id: String(t.id),
            text: t.description ?? '',
            tags: t.tags ?? [],
            ...(t.created_at ? { createdAt: t.created_at } : {}),
            ...(t.subject ? { subject: t.subject } : {}),
          };
          yield ticket;
          count++;
        }
        onProgress?.(count);
        if (data.end_of_stream !== false || !data.after_cursor) return;
        query = { cursor: data.after_cursor };
      }
    },
  };
}
