import type { NormalizedMessage } from '../message.ts';
import type { Decision } from './schema.ts';

/** How much of the customer's text `{{text}}` carries (a subject line, a notice). */
const TEXT_PREVIEW = 80;

function oneLine(s: string): string {
  return s.replace(/\s+/gu, ' ').trim();
}

function preview(s: string): string {
  const chars = Array.from(oneLine(s));
  return chars.length <= TEXT_PREVIEW ? chars.join('') : `${chars.slice(0, TEXT_PREVIEW).join('').trimEnd()}…`;
}

/** Own string properties only: a placeholder like `{{sender.constructor}}` must render empty. */
function own(record: object | undefined, key: string): string | undefined {
  if (!record || !Object.hasOwn(record, key)) return undefined;
  const v: unknown = (record as Record<string, unknown>)[key];
  return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
}

function resolve(
  name: string,
  message: NormalizedMessage,
  decision: Decision | undefined,
  captures: Readonly<Record<string, string>>,
): string | undefined {
  const dot = name.indexOf('.');
  if (dot !== -1) {
    const scope = name.slice(0, dot);
    const key = name.slice(dot + 1);
    if (scope === 'sender') return own(message.sender, key);
    if (scope === 'form') return own(message.form?.fields, key);
    if (scope === 'match') return own(captures, key);
    return undefined;
  }
  switch (name) {
    case 'text': return preview(message.text);
    case 'channel': return message.channel.id;
    case 'channelKind': return message.channel.kind;
    case 'kind': return message.kind;
    case 'playerId': return message.playerId;
    case 'subject': return message.conversation.subject;
    case 'priority': return decision?.priority;
    case 'tags': return decision?.tags.join(', ');
    case 'group': return decision?.group;
    case 'type': return decision?.type;
    default: return undefined;
  }
}

/**
 * Renders `{{placeholders}}`: text (first 80 characters, one line), channel, channelKind, kind,
 * subject, playerId, sender.<field>, form.<field>, priority, tags, group, type, and match.<name> (named
 * groups captured by the rule's text patterns). Unknown placeholders render empty; values are
 * put on one line so a form field cannot break a subject.
 */
export function renderTemplate(
  template: string,
  message: NormalizedMessage,
  decision?: Decision,
  captures: Readonly<Record<string, string>> = {},
): string {
  return template.replace(/\{\{\s*([\w.-]+)\s*\}\}/gu, (_m, name: string) =>
    oneLine(resolve(name, message, decision, captures) ?? ''));
}
