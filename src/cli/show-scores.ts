import type { Decision } from '../core/rules/schema.ts';
import type { TraceEntry } from '../core/rules/engine.ts';

/** The `model:` lines of `rules test`: every topic's score, and the rules that read them. */
export function formatModelScores(decision: Decision, trace: readonly TraceEntry[]): string[] {
  if (!decision.model) return [];
  const scores = Object.entries(decision.model.scores).sort((a, b) => b[1] - a[1]).map(([t, v]) => `${t} ${v.toFixed(2)}`).join(', ');
  const readers = trace.filter((t) => t.usedModel).map((t) => `${t.rule} (${t.fired ? 'fired' : 'did not fire'})`);
  return [`model:    ${scores}`, `          read by: ${readers.join(', ') || '-'}`];
}
