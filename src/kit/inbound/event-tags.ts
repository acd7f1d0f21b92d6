import { REPLY_VIA_TAG } from '../../core/identity/reply-via.ts';

/** More than any ticket carries; the rest of a hostile body costs nothing. */
const MAX_TAGS = 200;
const MAX_TAG_CHARS = 100;
const MAX_TEXT_CHARS = 20_000;

/**
 * The ticket's tags as an agent-reply webhook carries them, so the gateway needs no read for
 * them: a list (Zendesk's event `detail.tags`), or one string as the helpdesks' placeholders
 * render it (`{{ticket.tags}}`: "vip reply_via_email", or "vip, reply_via_email"). `replyVia`, the
 * value of a "reply via" custom field the body also carries, counts as the tag `reply_via_<value>`.
 * Undefined when the body carries neither.
 */
export function eventTags(tags: unknown, replyVia?: unknown): string[] | undefined {
  const words = (text: string) => text.slice(0, MAX_TEXT_CHARS).split(/[\s,]+/);
  const listed = typeof tags === 'string' ? words(tags) : Array.isArray(tags) ? tags.slice(0, MAX_TAGS).filter((t): t is string => typeof t === 'string') : undefined;
  const field = typeof replyVia === 'string' && replyVia.trim() !== '' ? [REPLY_VIA_TAG + replyVia.trim()] : [];
  if (listed === undefined && field.length === 0) return undefined;
  return [...(listed ?? []), ...field].filter((t) => t !== '' && t.length <= MAX_TAG_CHARS).slice(0, MAX_TAGS);
}
