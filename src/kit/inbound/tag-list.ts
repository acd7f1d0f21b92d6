/**
 * Tags as a helpdesk's placeholder renders them into a webhook body (`{{ticket.tags}}`): separated
 * by spaces (Zendesk) or commas (Freshdesk, Usedesk). At most 100 are kept.
 */
export function tagList(tags: string | undefined | null): string[] {
  return (tags ?? '').split(/[\s,]+/).filter(Boolean).slice(0, 100);
}
