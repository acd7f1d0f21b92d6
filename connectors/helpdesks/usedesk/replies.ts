import type { AgentReply } from '../../../src/core/connector.ts';
import { htmlToPlainText } from '../../../src/kit/html-text.ts';
import { tagNames, type FileRef, type TicketCard } from './api.ts';
import { fileNameOf } from './http.ts';

function fileOf(ref: FileRef): { name: string; mime: string; url: string } | undefined {
  const url = typeof ref === 'string' ? ref : (ref.file ?? ref.url ?? ref.path);
  if (!url) return undefined;
  let name = typeof ref === 'string' ? undefined : (ref.name ?? undefined);
  try {
    name ??= fileNameOf(new URL(url));
  } catch {
    return undefined;
  }
  return { name, mime: 'application/octet-stream', url };
}

/** Usedesk's times carry no zone ("2024-05-01 10:00:00"); only a time with one is passed on. */
const zoned = (t: string | null | undefined): string | undefined => (t && /(Z|[+-]\d\d:?\d\d)$/.test(t.trim()) ? t : undefined);

/**
 * Public comments by agents (`from: user`), oldest first; the customer's, triggers' and private ones
 * are left out. Each carries the ticket's tags from the same read (a `reply_via_` tag picks the channel).
 */
export function agentReplies(ticketId: string, card: TicketCard): AgentReply[] {
  const ticketTags = tagNames(card);
  return (card.comments ?? [])
    .filter((c) => c.from === 'user' && c.type === 'public')
    .sort((a, b) => a.id - b.id)
    .map((c) => ({
      ticketId,
      commentId: String(c.id),
      text: htmlToPlainText(c.message ?? ''),
      html: c.message ?? undefined,
      attachments: (c.files ?? []).map(fileOf).filter((f): f is NonNullable<typeof f> => f !== undefined),
      createdAt: zoned(c.published_at),
      ticketTags,
    }));
}
