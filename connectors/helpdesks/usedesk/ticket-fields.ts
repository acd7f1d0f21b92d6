import type { FetchedFile, TicketInput } from '../../../src/core/connector.ts';
import { DeliveryError } from '../../../src/core/errors.ts';
import type { Decision } from '../../../src/core/rules/schema.ts';
import type { UsedeskOptions } from './options.ts';

/** The rules' priorities in Usedesk's words. */
export const PRIORITY: Record<string, string> = { low: 'low', normal: 'medium', high: 'urgent', urgent: 'extreme' };
const RANK: Record<string, number> = { low: 0, medium: 1, urgent: 2, extreme: 3 };
export const USEDESK_TYPES = ['question', 'task', 'problem', 'incident'] as const;

export interface TicketRouting {
  priority?: string;
  type?: string;
  group_id?: number;
  tags: string[];
  /** `field_id` / `field_value`: comma-separated lists, as Usedesk takes them. */
  field_id?: string;
  field_value?: string;
}

/** Tags go to Usedesk as one string, separated by ", ": a comma inside a tag would split it. */
export function usedeskTags(tags: string[]): string[] {
  return [...new Set(tags.map((t) => t.replace(/,/g, ' ').replace(/\s+/g, ' ').trim()).filter(Boolean))];
}

const toId = (v: number | string | undefined): number | undefined =>
  typeof v === 'number' ? v : v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;

/**
 * Maps the rules' symbolic decision onto Usedesk's fields. Every name that does not map is a
 * configuration problem no retry fixes: all of them are reported at once, as a permanent error.
 */
export function ticketRouting(decision: Decision, options: Pick<UsedeskOptions, 'groups' | 'fields' | 'types'>): TicketRouting {
  const problems: string[] = [];
  const routing: TicketRouting = { tags: usedeskTags(decision.tags) };
  if (decision.priority) routing.priority = PRIORITY[decision.priority];
  if (decision.type) {
    const type = (options.types[decision.type] ?? decision.type).toLowerCase();
    if ((USEDESK_TYPES as readonly string[]).includes(type)) routing.type = type;
    else problems.push(`ticket type "${type}" is not a Usedesk type (${USEDESK_TYPES.join(', ')}); map it under helpdesk.types.${decision.type}`);
  }
  if (decision.group) {
    const id = toId(options.groups[decision.group]);
    if (options.groups[decision.group] === undefined) problems.push(`group "${decision.group}" has no Usedesk group id: set helpdesk.groups.${decision.group}`);
    else if (id === undefined) problems.push(`helpdesk.groups.${decision.group} must be a Usedesk group id (a number)`);
    else routing.group_id = id;
  }
  const fields = Object.entries(decision.fields);
  if (fields.length > 0) {
    const ids: number[] = [];
    const values: string[] = [];
    for (const [name, value] of fields) {
      const id = toId(options.fields[name]);
      if (options.fields[name] === undefined) problems.push(`field "${name}" has no Usedesk field id: set helpdesk.fields.${name}`);
      else if (id === undefined) problems.push(`helpdesk.fields.${name} must be a Usedesk field id (a number)`);
      else if (fields.length > 1 && String(value).includes(',')) problems.push(`field "${name}": Usedesk takes several field values as one comma-separated list, so a value with a comma can only be set alone`);
      else {
        ids.push(id);
        values.push(String(value));
      }
    }
    if (ids.length > 0) {
      routing.field_id = ids.join(',');
      routing.field_value = values.join(',');
    }
  }
  if (problems.length > 0) throw new DeliveryError(`cannot route the ticket: ${problems.join('; ')}`, { kind: 'permanent' });
  return routing;
}

/** A follow-up may escalate a ticket but never calm it down. */
export function raisesPriority(current: string | null | undefined, wanted: string | undefined): boolean {
  if (!wanted) return false;
  return (RANK[wanted] ?? -1) > (current ? (RANK[current] ?? -1) : -1);
}

const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function textHtml(text: string): string {
  return text.split(/\n{2,}/).map((p) => `<p>${escapeHtml(p).replace(/\n/g, '<br>')}</p>`).join('');
}

/** The message as HTML: its text and the texts delivered with it, never empty. */
export function messageHtml(input: Pick<TicketInput, 'message' | 'extra'>, files: FetchedFile[]): string {
  const texts = [input.message, ...input.extra].map((m) => m.text.trim()).filter(Boolean);
  if (texts.length > 0) return textHtml(texts.join('\n'));
  const names = files.length > 0 ? files.map((f) => f.name) : [input.message, ...input.extra].flatMap((m) => m.attachments.map((a) => a.name));
  return textHtml(names.length > 0 ? `(attachment: ${names.join(', ')})` : '(empty message)');
}

/** Plain text of an HTML comment, for the channel. */

/**
 * Usedesk keeps `additional_id` on tickets but nothing on comments: a comment Switchboard writes
 * ends with a small "ref <id>" line, and a retry looks for it before writing again.
 */
export const markerText = (id: string): string => `ref ${id}`;
export const hasMarker = (body: string | null | undefined, id: string): boolean =>
  new RegExp(`${markerText(id).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w:])`).test(body ?? '');
export function withMarker(html: string, marker: string, via?: string): string {
  return `${html}<p><small>${via ? `via ${escapeHtml(via)} · ` : ''}${escapeHtml(markerText(marker))}</small></p>`;
}
/** The ticket's `additional_id`: which message created it. */
export const additionalId = (messageId: string): string => `switchboard:${messageId}`;
