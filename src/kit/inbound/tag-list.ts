import { REPLY_VIA_TAG } from '../../core/identity/reply-via.ts';

const MAX_TAGS = 100;
/** Longer than any tag a helpdesk keeps; a longer word in a hostile body is no tag. */
const MAX_TAG_CHARS = 100;

/**
 * Tags as a helpdesk's placeholder renders them into a webhook body (`{{ticket.tags}}`): separated
 * by spaces (Zendesk) or commas (Freshdesk, Usedesk). At most 100 are kept.
 */
export function tagList(tags: string | undefined | null): string[] {
  return (tags ?? '').split(/[\s,]+/).filter(Boolean).slice(0, MAX_TAGS);
}

/**
 * The ticket's tags as an agent-reply webhook carries them, so the gateway needs no read for
 * them: a list (Zendesk's event `detail.tags`) or a rendered `{{ticket.tags}}`. `replyVia`, the
 * value of a "reply via" custom field the body also carries, counts as the tag
 * `reply_via_<value>`. Undefined when the body carries neither.
 */
export function eventTags(tags: unknown, replyVia?: unknown): string[] | undefined {
  const listed = typeof tags === 'string' ? tagList(tags) : Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string' && t !== '') : undefined;
  const field = typeof replyVia === 'string' && replyVia.trim() !== '' ? [REPLY_VIA_TAG + replyVia.trim()] : [];
  if (listed === undefined && field.length === 0) return undefined;
  return [...(listed ?? []), ...field].filter((t) => t.length <= MAX_TAG_CHARS).slice(0, MAX_TAGS);
}
