import { z } from 'zod';
import type { HelpdeskContext, HistoryReader } from '../../../src/core/connector.ts';
import { patiently } from '../../../src/kit/helpdesk-http/patiently.ts';
import { htmlToPlainText } from '../../../src/kit/html-text.ts';
import { tagNames, TicketCard } from './api.ts';
import { UsedeskHttp } from './http.ts';
import type { UsedeskOptions } from './options.ts';

/**
 * The tickets agents handled, from Usedesk: `POST /tickets` lists them newest first, 100 a page
 * (`offset` is the page); the list carries no text, so each wanted ticket is read with
 * `POST /ticket` for its tags and the client's first comment. Both go through the connector's
 * paced client.
 */

const Id = z.union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)]);
const TicketList = z.array(z.looseObject({
  id: Id,
  subject: z.string().nullish(),
  published_at: z.string().nullish(),
  last_updated_at: z.string().nullish(),
}));

const MAX_PAGES = 1000;

/** Usedesk writes times as "2024-05-01 10:00:00" (UTC); Date.parse reads that as local time. */
function parseTime(s: string | null | undefined): number | undefined {
  if (!s) return undefined;
  const t = Date.parse(/^\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?$/.test(s) ? `${s.replace(' ', 'T')}Z` : s);
  return Number.isNaN(t) ? undefined : t;
}

export function createUsedeskHistory(options: UsedeskOptions, ctx: HelpdeskContext): HistoryReader {
  const http = new UsedeskHttp({ baseUrl: options.baseUrl, apiToken: options.apiToken, timeoutMs: options.timeoutMs, limiter: ctx.limiter, log: ctx.log.child({ helpdesk: 'usedesk' }) });
  return {
    async *tickets({ since, want, onProgress }) {
      let count = 0;
      for (let page = 0; page < MAX_PAGES; page++) {
        const list = await patiently(() => http.call('list tickets', '/tickets', { offset: page }, TicketList, { wrote: false }));
        if (list.length === 0) return;
        let older = 0;
        for (const t of list) {
          const at = parseTime(t.last_updated_at ?? t.published_at);
          if (at !== undefined && at < since.getTime()) {
            older++;
            continue;
          }
          const id = String(t.id);
          if (want && !want(id)) continue;
          const card = await patiently(() => http.call('read ticket', '/ticket', { ticket_id: t.id }, TicketCard, { wrote: false }));
          const first = (card.comments ?? []).filter((c) => c.from === 'client').sort((a, b) => (parseTime(a.published_at) ?? 0) - (parseTime(b.published_at) ?? 0))[0];
          const created = parseTime(t.published_at);
          yield {
            id,
            text: htmlToPlainText(first?.message ?? '').trim(),
            tags: tagNames(card),
            ...(created !== undefined ? { createdAt: new Date(created).toISOString() } : {}),
            ...(t.subject ? { subject: t.subject } : {}),
          };
          count++;
        }
        onProgress?.(count);
        // Newest first: a page entirely older than `since` ends the reading.
        if (older === list.length) return;
      }
    },
  };
}
