import type { FetchedFile, TicketInput } from '../../../src/core/connector.ts';
import { DeliveryError } from '../../../src/core/errors.ts';
import type { Decision } from '../../../src/core/rules/schema.ts';
import type { ZendeskOptions } from './options.ts';

export const ZENDESK_TYPES = ['question', 'incident', 'problem', 'task'] as const;
const PRIORITY_RANK: Record<string, number> = { low: 0, normal: 1, high: 2, urgent: 3 };

export interface TicketRouting {
  priority?: string;
  type?: string;
  group_id?: number | string;
  tags: string[];
  custom_fields?: { id: number | string; value: string | number | boolean }[];
}

/** Zendesk ids are integers; a numeric string from YAML/env is sent as a number. */
export function zendeskId(v: number | string): number | string {
  return typeof v === 'string' && /^\d+$/.test(v) && Number.isSafeInteger(Number(v)) ? Number(v) : v;
}

/** Zendesk tags are single lowercase words: spaces become underscores, punctuation that would split a tag is dropped. */
export function zendeskTag(tag: string): string {
  return tag.trim().toLowerCase().replace(/\s+/g, '_').replace(/[^\p{L}\p{N}_\-:/.]/gu, '');
}

export function zendeskTags(tags: string[]): string[] {
  return [...new Set(tags.map(zendeskTag).filter(Boolean))];
}

/**
 * Maps the rules' symbolic decision onto Zendesk's fields. Every unmapped name is a configuration
 * problem no retry can fix, so all of them are reported at once, as a permanent error.
 */
export function ticketRouting(decision: Decision, options: Pick<ZendeskOptions, 'groups' | 'fields' | 'types'>): TicketRouting {
  const problems: string[] = [];
  const routing: TicketRouting = { tags: zendeskTags(decision.tags) };
  if (decision.priority) routing.priority = decision.priority;
  if (decision.type) {
    const type = options.types[decision.type] ?? decision.type;
    if ((ZENDESK_TYPES as readonly string[]).includes(type)) routing.type = type;
    else {
      problems.push(
        `ticket type "${type}" is not a Zendesk type (${ZENDESK_TYPES.join(', ')}); map it under helpdesk.types.${decision.type}`,
      );
    }
  }
  if (decision.group) {
    const id = options.groups[decision.group];
    if (id === undefined) problems.push(`group "${decision.group}" has no Zendesk group id: set helpdesk.groups.${decision.group}`);
    else routing.group_id = zendeskId(id);
  }
  const fields = Object.entries(decision.fields);
  if (fields.length > 0) {
    routing.custom_fields = [];
    for (const [name, value] of fields) {
      const id = options.fields[name];
      if (id === undefined) problems.push(`field "${name}" has no Zendesk field id: set helpdesk.fields.${name}`);
      else routing.custom_fields.push({ id: zendeskId(id), value });
    }
  }
  if (problems.length > 0) throw new DeliveryError(`cannot route the ticket: ${problems.join('; ')}`, { kind: 'permanent' });
  return routing;
}

/** A follow-up may escalate a ticket but never calm it down: agents may have raised it themselves. */
export function raisesPriority(current: string | null | undefined, wanted: string | undefined): boolean {
  if (!wanted) return false;
  return (PRIORITY_RANK[wanted] ?? -1) > (current ? (PRIORITY_RANK[current] ?? -1) : -1);
}

/** The comment text: the message, a line per message delivered with it, never empty (Zendesk refuses blank comments). */
export function commentBody(input: Pick<TicketInput, 'message' | 'extra'>, files: FetchedFile[]): string {
  const texts = [input.message, ...input.extra].map((m) => m.text.trim()).filter(Boolean);
  if (texts.length > 0) return texts.join('\n');
  const names = files.length > 0 ? files.map((f) => f.name) : [input.message, ...input.extra].flatMap((m) => m.attachments.map((a) => a.name));
  return names.length > 0 ? `(attachment: ${names.join(', ')})` : '(empty message)';
}
