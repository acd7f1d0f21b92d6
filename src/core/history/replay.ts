import type { CompiledRules, TopicScorer } from '../rules/engine.ts';
import { evaluate } from '../rules/engine.ts';
import type { Decision } from '../rules/schema.ts';
import type { RoutedRecord } from './routing-log.ts';

/** What an edit of the rules would change for messages already routed: `rules diff`. */

export interface Change {
  field: 'priority' | 'tags' | 'group' | 'type' | 'replies' | 'notify';
  before: string;
  after: string;
}

export interface Replayed {
  record: RoutedRecord;
  before: Decision;
  after: Decision;
  changes: Change[];
}

function listChange(field: Change['field'], a: readonly string[], b: readonly string[]): Change | undefined {
  const removed = a.filter((x) => !b.includes(x));
  const added = b.filter((x) => !a.includes(x));
  if (removed.length === 0 && added.length === 0) return undefined;
  return { field, before: a.join(', ') || '-', after: b.join(', ') || '-' };
}

function valueChange(field: Change['field'], a: string | undefined, b: string | undefined): Change | undefined {
  return a === b ? undefined : { field, before: a ?? '-', after: b ?? '-' };
}

/** The differences a person acts on: where the ticket goes, how urgent, its tags, what is sent. */
export function decisionChanges(a: Decision, b: Decision): Change[] {
  return [
    valueChange('priority', a.priority, b.priority),
    listChange('tags', a.tags, b.tags),
    valueChange('group', a.group, b.group),
    valueChange('type', a.type, b.type),
    listChange('replies', a.replies, b.replies),
    listChange('notify', a.notify, b.notify),
  ].filter((c): c is Change => c !== undefined);
}

export interface ReplaySide {
  compiled: CompiledRules;
  model?: TopicScorer;
}

/** Runs each record's message through both rule sets, as it was routed (first or follow-up, at its time). */
export function replay(records: Iterable<RoutedRecord>, running: ReplaySide, edited: ReplaySide, timezone: string): Replayed[] {
  const out: Replayed[] = [];
  for (const record of records) {
    const ctx = { message: record.message, isFirst: record.isFirst, now: new Date(record.at), timezone };
    const before = evaluate(running.compiled, { ...ctx, model: running.model });
    const after = evaluate(edited.compiled, { ...ctx, model: edited.model });
    out.push({ record, before, after, changes: decisionChanges(before, after) });
  }
  return out;
}
