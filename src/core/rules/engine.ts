import type { NormalizedMessage } from '../message.ts';
import { RuleCompileError } from './compile-error.ts';
import { compileCondition, searchableText, type Check, type MatchEnv } from './conditions.ts';
import { PatternSet, type PatternCompiler } from './pattern.ts';
import type { Decision, Priority, Replies, Rule } from './schema.ts';
import { renderTemplate } from './template.ts';

export { RuleCompileError } from './compile-error.ts';
export { normalizeText } from './normalize.ts';
export { detectLanguage, type Language } from './language.ts';
export { renderTemplate } from './template.ts';
export { pickReply } from './replies.ts';
export { topicOf, topicOfTags, TOPICS, type Topic } from './topic.ts';
export { isValidTimeZone } from './time.ts';

/** What a `model:` condition asks: a trained text model (src/core/model). */
export interface TopicScorer {
  readonly topics: readonly string[];
  score(text: string): Record<string, number>;
}

export interface RuleContext {
  message: NormalizedMessage;
  isFirst: boolean;
  now: Date;
  /** IANA zone for `time` conditions that name none (the config's top-level `timezone`). */
  timezone: string;
  /** The text model in force, for `model:` conditions (without one they never hold). */
  model?: TopicScorer;
}

interface CompiledRule {
  readonly rule: Rule;
  readonly check: Check;
  readonly notify: readonly string[];
}

export interface CompiledRules {
  readonly rules: readonly Rule[];
  readonly compiled: readonly CompiledRule[];
}

export interface TraceEntry {
  rule: string;
  fired: boolean;
  why: string;
  /** The rule's conditions read the text model's scores. */
  usedModel?: boolean;
}

export interface CompileOptions {
  /** When given, a rule whose `reply` names no entry here is a compile error. */
  replies?: Replies;
  /** When given, a `model:` condition naming a topic the model does not know is a compile error. */
  modelTopics?: readonly string[];
  /** Compiles the text patterns; a new PatternSet unless given (bench/rules.ts compares engines). */
  patterns?: PatternCompiler;
}

const PRIORITY_RANK: Readonly<Record<Priority, number>> = { low: 0, normal: 1, high: 2, urgent: 3 };

/** Compiles patterns and time zones once; throws RuleCompileError naming the rule and path. */
export function compileRules(rules: Rule[], options: CompileOptions = {}): CompiledRules {
  const seen = new Set<string>();
  const patterns = options.patterns ?? new PatternSet();
  const compiled = rules.map((rule): CompiledRule => {
    if (seen.has(rule.name)) throw new RuleCompileError(rule.name, 'name', 'another rule has the same name');
    seen.add(rule.name);
    if (rule.reply !== undefined && options.replies && !Object.hasOwn(options.replies, rule.reply)) {
      throw new RuleCompileError(rule.name, 'reply', `no entry "${rule.reply}" under replies:`);
    }
    const notify = rule.notify === undefined ? [] : Array.isArray(rule.notify) ? rule.notify : [rule.notify];
    return { rule, check: compileCondition(rule.name, rule.when, options.modelTopics, patterns), notify };
  });
  return { rules: [...rules], compiled };
}

function pushUnique(list: string[], items: readonly string[]): void {
  for (const item of items) if (!list.includes(item)) list.push(item);
}

interface Template {
  template: string;
  captures: Record<string, string>;
}

/**
 * Runs the rules in order and explains each one. `subject` and string `fields` are rendered
 * after the last rule, against the final decision, with the captures of the rule that set them;
 * a field that renders empty is left out.
 */
export function explain(rules: CompiledRules, ctx: RuleContext): { decision: Decision; trace: TraceEntry[] } {
  const decision: Decision = { tags: [], fields: {}, replies: [], notify: [], firedRules: [] };
  const trace: TraceEntry[] = [];
  const fieldTemplates = new Map<string, Template>();
  let subject: Template | undefined;
  let player: (Template & { trusted: boolean; rule: string }) | undefined;
  let stoppedBy: string | undefined;
  let text: string | undefined;
  const searchText = (): string => (text ??= searchableText(ctx.message));
  let scores: Record<string, number> | undefined;
  const modelScores = (): Record<string, number> | undefined => {
    if (!ctx.model) return undefined;
    return (scores ??= roundScores(ctx.model.score(searchText())));
  };
  const usedBy: string[] = [];

  for (const { rule, check, notify } of rules.compiled) {
    if (stoppedBy !== undefined) {
      trace.push({ rule: rule.name, fired: false, why: `skipped: rule "${stoppedBy}" stopped evaluation` });
      continue;
    }
    let usedModel = false;
    const env: MatchEnv = { ...ctx, text: searchText, captures: {}, scores: () => ((usedModel = true), modelScores()) };
    const outcome = check(env);
    trace.push({ rule: rule.name, fired: outcome.ok, why: outcome.why, ...(usedModel ? { usedModel } : {}) });
    if (!outcome.ok) continue;
    if (usedModel) usedBy.push(rule.name);

    const set = rule.set ?? {};
    // Priority only ever rises: a catch-all later in the list cannot demote an urgent ticket.
    if (set.priority && (!decision.priority || PRIORITY_RANK[set.priority] > PRIORITY_RANK[decision.priority])) {
      decision.priority = set.priority;
    }
    pushUnique(decision.tags, set.tags ?? []);
    if (set.type !== undefined) decision.type = set.type;
    if (set.group !== undefined) decision.group = set.group;
    for (const [key, value] of Object.entries(set.fields ?? {})) {
      if (typeof value === 'string') fieldTemplates.set(key, { template: value, captures: env.captures });
      else {
        fieldTemplates.delete(key);
        decision.fields[key] = value;
      }
    }
    if (set.subject !== undefined) subject = { template: set.subject, captures: env.captures };
    if (set.playerId !== undefined) player = { template: set.playerId, captures: env.captures, trusted: rule.trusted === true, rule: rule.name };
    if (rule.reply !== undefined) pushUnique(decision.replies, [rule.reply]);
    pushUnique(decision.notify, notify);
    decision.firedRules.push(rule.name);
    if (rule.stop) stoppedBy = rule.name;
  }

  for (const [key, { template, captures }] of fieldTemplates) {
    const value = renderTemplate(template, ctx.message, decision, captures);
    if (value !== '') decision.fields[key] = value;
    else delete decision.fields[key];
  }
  if (player) {
    const id = renderTemplate(player.template, ctx.message, decision, player.captures).trim();
    if (id !== '') decision.player = { id, trusted: player.trusted, rule: player.rule };
  }
  if (subject) {
    const value = renderTemplate(subject.template, ctx.message, decision, subject.captures);
    if (value !== '') decision.subject = value;
  }
  if (scores !== undefined) decision.model = { scores, usedBy };
  return { decision, trace };
}

/** Scores to three decimals: what the trace, the ticket's note and the history show. */
function roundScores(scores: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [topic, score] of Object.entries(scores)) out[topic] = Math.round(score * 1000) / 1000;
  return out;
}

/** The routing decision for one message. Pure: same rules and context, same decision. */
export function evaluate(rules: CompiledRules, ctx: RuleContext): Decision {
  return explain(rules, ctx).decision;
}
