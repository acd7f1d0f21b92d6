import type { ChannelRef, FetchedFile, Medium, TicketInput } from '../../../src/core/connector.ts';
import { DeliveryError } from '../../../src/core/errors.ts';
import type { Decision } from '../../../src/core/rules/schema.ts';
import { FRESHDESK_SOURCES, type FreshdeskOptions } from './options.ts';

/** The rules' priorities as Freshdesk's numbers: 1 Low, 2 Medium, 3 High, 4 Urgent. */
export const PRIORITY: Record<string, number> = { low: 1, normal: 2, high: 3, urgent: 4 };

/** The source a channel's tickets get, by what the channel is, unless `sources` says otherwise. */
const SOURCE_BY_MEDIUM: Record<Medium, keyof typeof FRESHDESK_SOURCES> = {
  messenger: 'chat',
  phone: 'phone',
  email: 'email',
  form: 'portal',
  api: 'chat',
};

export function sourceFor(channel: ChannelRef, options: Pick<FreshdeskOptions, 'sources'>): number {
  const name = options.sources[channel.id] ?? options.sources[channel.kind] ?? SOURCE_BY_MEDIUM[channel.medium];
  return FRESHDESK_SOURCES[name];
}

export interface TicketRouting {
  priority?: number;
  type?: string;
  group_id?: number;
  tags: string[];
  custom_fields?: Record<string, string | number | boolean>;
}

export function freshdeskTags(tags: string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const tag of tags.map((t) => t.trim()).filter(Boolean)) {
    if (seen.has(tag.toLowerCase())) continue;
    seen.add(tag.toLowerCase());
    out.push(tag);
  }
  return out;
}

/**
 * Maps the rules' symbolic decision onto Freshdesk's fields. `accountTypes` are the account's
 * ticket types (asked only when the decision has a type). Every name that does not map is a
 * configuration problem no retry fixes: all of them are reported at once, as a permanent error.
 */
export function ticketRouting(
  decision: Decision,
  options: Pick<FreshdeskOptions, 'groups' | 'fields' | 'types'>,
  accountTypes: string[] | undefined,
): TicketRouting {
  const problems: string[] = [];
  const routing: TicketRouting = { tags: freshdeskTags(decision.tags) };
  if (decision.priority) routing.priority = PRIORITY[decision.priority];
  if (decision.type) {
    const wanted = options.types[decision.type] ?? decision.type;
    const match = accountTypes?.find((t) => t.toLowerCase() === wanted.toLowerCase());
    if (match) routing.type = match;
    else {
      problems.push(`ticket type "${wanted}" is not one of this Freshdesk's types (${(accountTypes ?? []).join(', ') || 'none'}); add it in Admin → Ticket Fields → Type, or map it under helpdesk.types.${decision.type}`);
    }
  }
  if (decision.group) {
    const id = options.groups[decision.group];
    const n = typeof id === 'number' ? id : id !== undefined && /^\d+$/.test(id) ? Number(id) : undefined;
    if (id === undefined) problems.push(`group "${decision.group}" has no Freshdesk group id: set helpdesk.groups.${decision.group}`);
    else if (n === undefined) problems.push(`helpdesk.groups.${decision.group} must be a Freshdesk group id (a number), not "${id}"`);
    else routing.group_id = n;
  }
  const fields = Object.entries(decision.fields);
  if (fields.length > 0) {
    routing.custom_fields = {};
    for (const [name, value] of fields) {
      const key = options.fields[name];
      if (key === undefined) problems.push(`field "${name}" has no Freshdesk field name: set helpdesk.fields.${name} (e.g. cf_${name})`);
      else if (typeof key === 'number') problems.push(`helpdesk.fields.${name} must be the field's name (cf_…), Freshdesk custom fields are named, not numbered`);
      else routing.custom_fields[key.startsWith('cf_') ? key : `cf_${key}`] = value;
    }
  }
  if (problems.length > 0) throw new DeliveryError(`cannot route the ticket: ${problems.join('; ')}`, { kind: 'permanent' });
  return routing;
}

/** A follow-up may escalate a ticket but never calm it down: agents may have raised it themselves. */
export function raisesPriority(current: number | null | undefined, wanted: number | undefined): boolean {
  return wanted !== undefined && wanted > (current ?? 0);
}

const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Plain text as HTML paragraphs (Freshdesk bodies are HTML). */
export function textHtml(text: string): string {
  return text.split(/\n{2,}/).map((p) => `<p>${escapeHtml(p).replace(/\n/g, '<br>')}</p>`).join('');
}

/**
 * The marker that proves a write happened: Freshdesk has no idempotency key or write metadata,
 * so every body Switchboard writes ends with a small "ref <id>" line (kept as text by any HTML
 * cleaning), and a retry looks for it before writing again.
 */
export const markerText = (id: string): string => `ref ${id}`;
/** Exact: the marker of a message is not found in the marker of its notes (`ref <id>:notes`). */
export const hasMarker = (body: string | null | undefined, id: string): boolean =>
  new RegExp(`${markerText(id).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w:])`).test(body ?? '');

export function withMarker(html: string, marker: string, via?: string): string {
  return `${html}<p><small>${via ? `via ${escapeHtml(via)} · ` : ''}${escapeHtml(markerText(marker))}</small></p>`;
}

/** The message as HTML: its text and the texts delivered with it, never empty. */
export function messageHtml(input: Pick<TicketInput, 'message' | 'extra'>, files: FetchedFile[]): string {
  const texts = [input.message, ...input.extra].map((m) => m.text.trim()).filter(Boolean);
  if (texts.length > 0) return textHtml(texts.join('\n'));
  const names = files.length > 0 ? files.map((f) => f.name) : [input.message, ...input.extra].flatMap((m) => m.attachments.map((a) => a.name));
  return textHtml(names.length > 0 ? `(attachment: ${names.join(', ')})` : '(empty message)');
}

/** The files that fit in Freshdesk's per-ticket budget, and notes about the ones that do not. */
export function fitAttachments(files: FetchedFile[], maxBytes: number): { files: FetchedFile[]; notes: string[] } {
  const kept: FetchedFile[] = [];
  const notes: string[] = [];
  let total = 0;
  for (const file of files) {
    if (total + file.data.length > maxBytes) {
      notes.push(`Attachment "${file.name}" (${file.mime}, ${file.data.length} bytes) was not attached: Freshdesk keeps at most ${Math.round(maxBytes / 1024 / 1024)} MB of attachments per ticket.`);
      continue;
    }
    total += file.data.length;
    kept.push(file);
  }
  return { files: kept, notes };
}

/** A JSON body as multipart fields, Freshdesk's way: `tags[]`, `custom_fields[cf_x]`, `attachments[]`. */
export function multipart(fields: Record<string, unknown>, files: FetchedFile[]): FormData {
  const form = new FormData();
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) for (const v of value) form.append(`${key}[]`, String(v));
    else if (typeof value === 'object') for (const [k, v] of Object.entries(value)) form.append(`${key}[${k}]`, String(v));
    else form.append(key, String(value));
  }
  for (const file of files) form.append('attachments[]', new Blob([new Uint8Array(file.data)], { type: file.mime }), file.name);
  return form;
}
