import type { z } from 'zod';
import type { LinearRegex } from '../linear-regex.ts';
import { modelWords } from '../model/features.ts';
import { Sender, type NormalizedMessage } from '../message.ts';
import { RuleCompileError } from './compile-error.ts';
import { matchKey } from './normalize.ts';
import { PatternSet, type PatternCompiler } from './pattern.ts';
import type { Condition, ModelCondition, TextCondition, TimeWindow, ValueCondition } from './schema.ts';
import { inWindow, isValidTimeZone, localClock, parseClock, type Window } from './time.ts';

/** What a condition is checked against. `text()` is the normalized searchable text, built once. */
export interface MatchEnv {
  message: NormalizedMessage;
  isFirst: boolean;
  now: Date;
  timezone: string;
  text: () => string;
  /** Named groups captured by text patterns, for `{{match.<name>}}` in the rule's templates. */
  captures: Record<string, string>;
  /** The text model's scores for this message (computed once, on first use); undefined without a model. */
  scores: () => Readonly<Record<string, number>> | undefined;
}

export interface Outcome {
  ok: boolean;
  why: string;
}

export type Check = (env: MatchEnv) => Outcome;

type ValueCond = z.infer<typeof ValueCondition>;
type TextCond = z.infer<typeof TextCondition>;
type TimeCond = z.infer<typeof TimeWindow>;
type ModelCond = z.input<typeof ModelCondition>;

const SENDER_FIELDS = Object.keys(Sender.shape);
const QUOTE_MAX = 40;

function quote(s: string): string {
  return JSON.stringify(s.length > QUOTE_MAX ? `${s.slice(0, QUOTE_MAX)}…` : s);
}

/** Compiles conditions of one rule; every error names the rule and the path inside it. */
class ConditionCompiler {
  private readonly ruleName: string;
  private readonly modelTopics: readonly string[] | undefined;
  private readonly patterns: PatternCompiler;

  constructor(ruleName: string, modelTopics: readonly string[] | undefined, patterns: PatternCompiler) {
    this.ruleName = ruleName;
    this.modelTopics = modelTopics;
    this.patterns = patterns;
  }

  fail(path: string, problem: string): never {
    throw new RuleCompileError(this.ruleName, path, problem);
  }

  regex(src: string, path: string): LinearRegex {
    if (src.trim() === '') this.fail(path, 'empty pattern (it would match every message)');
    try {
      return this.patterns.compile(src);
    } catch (err) {
      return this.fail(path, `invalid regular expression ${quote(src)}: ${(err as Error).message}`);
    }
  }

  condition(cond: Condition, path: string): Check {
    const checks: Check[] = [];
    const at = (key: string): string => (path ? `${path}.${key}` : key);
    if (cond.channel !== undefined) checks.push(this.value(cond.channel, at('channel'), 'channel', (e) => e.message.channel.id));
    if (cond.channelKind !== undefined) checks.push(this.value(cond.channelKind, at('channelKind'), 'channel kind', (e) => e.message.channel.kind));
    if (cond.kind !== undefined) checks.push(this.value(cond.kind, at('kind'), 'kind', (e) => e.message.kind));
    if (cond.first !== undefined) checks.push(flag(cond.first, 'first message', (e) => e.isFirst));
    if (cond.hasAttachment !== undefined) checks.push(flag(cond.hasAttachment, 'has attachment', (e) => e.message.attachments.length > 0));
    for (const [field, vc] of Object.entries(cond.sender ?? {})) {
      if (!SENDER_FIELDS.includes(field)) {
        this.fail(at(`sender.${field}`), `unknown sender field; use one of ${SENDER_FIELDS.join(', ')}`);
      }
      checks.push(this.value(vc, at(`sender.${field}`), `sender.${field}`, (e) => senderField(e.message, field)));
    }
    for (const [field, vc] of Object.entries(cond.form ?? {})) {
      checks.push(this.value(vc, at(`form.${field}`), `form.${field}`, (e) => formField(e.message, field)));
    }
    if (cond.time !== undefined) checks.push(this.time(cond.time, at('time')));
    if (cond.player?.known !== undefined) checks.push(flag(cond.player.known, 'player known', (e) => (e.message.playerId ?? '') !== ''));
    if (cond.player?.id !== undefined) checks.push(this.value(cond.player.id, at('player.id'), 'player id', (e) => e.message.playerId));
    if (cond.text !== undefined) checks.push(this.text(cond.text, at('text')));
    if (cond.model !== undefined) checks.push(this.model(cond.model, at('model')));
    if (cond.all !== undefined) checks.push(this.all(cond.all.map((c, i) => this.condition(c, at(`all[${i}]`)))));
    if (cond.any !== undefined) {
      if (cond.any.length === 0) this.fail(at('any'), 'empty list (it would never hold)');
      checks.push(this.any(cond.any.map((c, i) => this.condition(c, at(`any[${i}]`)))));
    }
    if (cond.atLeast !== undefined) {
      const { count, of } = cond.atLeast;
      if (count > of.length) this.fail(at('atLeast.count'), `${count} of ${of.length} conditions can never hold`);
      checks.push(this.atLeast(count, of.map((c, i) => this.condition(c, at(`atLeast.of[${i}]`)))));
    }
    if (cond.not !== undefined) {
      const inner = this.condition(cond.not, at('not'));
      checks.push((e) => {
        const r = inner(e);
        return { ok: !r.ok, why: `not (${r.why})` };
      });
    }
    return this.all(checks);
  }

  all(checks: readonly Check[]): Check {
    if (checks.length === 0) return () => ({ ok: true, why: 'no conditions' });
    if (checks.length === 1 && checks[0]) return checks[0];
    return (e) => {
      const whys: string[] = [];
      for (const check of checks) {
        const r = check(e);
        if (!r.ok) return r;
        whys.push(r.why);
      }
      return { ok: true, why: whys.join('; ') };
    };
  }

  any(checks: readonly Check[]): Check {
    return (e) => {
      const whys: string[] = [];
      for (const check of checks) {
        const r = check(e);
        if (r.ok) return r;
        whys.push(r.why);
      }
      // Twenty branches that failed for the same reason say it once.
      const reasons = [...new Set(whys)];
      return { ok: false, why: reasons.length === 1 ? reasons[0]! : `none of: ${reasons.join(' | ')}` };
    };
  }

  /** Stops as soon as `count` hold, so the explanation names the ones that decided it. */
  atLeast(count: number, checks: readonly Check[]): Check {
    return (e) => {
      const held: string[] = [];
      const failed: string[] = [];
      for (const check of checks) {
        const r = check(e);
        if (r.ok) held.push(r.why);
        else failed.push(r.why);
        if (held.length === count) return { ok: true, why: `${count} of ${checks.length} held: ${held.join(' & ')}` };
      }
      const reasons = [...new Set(failed)];
      if (held.length === 0 && reasons.length === 1) return { ok: false, why: reasons[0]! };
      return { ok: false, why: `only ${held.length} of ${checks.length} held, ${count} needed: ${[...held, ...reasons].join(' | ')}` };
    };
  }

  value(vc: ValueCond, path: string, label: string, get: (e: MatchEnv) => string | undefined): Check {
    const test = this.valueTest(vc, path);
    return (e) => {
      const actual = get(e);
      const r = test(actual === undefined ? undefined : matchKey(actual));
      const shown = actual === undefined ? '(missing)' : quote(actual);
      return { ok: r.ok, why: `${label} ${shown} ${r.ok ? 'is' : 'is not'} ${r.why}` };
    };
  }

  /** Values compare on normalized text, so `locale: RU` matches `ru` and `Oʻzbek` matches `ozbek`. */
  private valueTest(vc: ValueCond, path: string): (v: string | undefined) => Outcome {
    if (typeof vc === 'string') return this.valueTest({ equals: vc }, path);
    if (Array.isArray(vc)) return this.valueTest({ in: vc }, path);
    const tests: ((v: string | undefined) => Outcome)[] = [];
    if (vc.equals !== undefined) {
      const want = matchKey(vc.equals);
      tests.push((v) => ({ ok: v === want, why: quote(vc.equals ?? '') }));
    }
    if (vc.in !== undefined) {
      const want = new Set(vc.in.map(matchKey));
      tests.push((v) => ({ ok: v !== undefined && want.has(v), why: `one of ${vc.in?.join(', ')}` }));
    }
    if (vc.matches !== undefined) {
      const re = this.regex(vc.matches, `${path}.matches`);
      tests.push((v) => ({ ok: v !== undefined && re.test(v), why: `matching ${quote(vc.matches ?? '')}` }));
    }
    if (vc.exists !== undefined) {
      const want = vc.exists;
      tests.push((v) => ({ ok: (v !== undefined && v !== '') === want, why: want ? 'present' : 'absent' }));
    }
    return (v) => {
      for (const t of tests) {
        const r = t(v);
        if (!r.ok) return r;
      }
      return { ok: true, why: tests.length ? 'as required' : 'unconstrained' };
    };
  }

  text(tc: TextCond, path: string): Check {
    const matches = (tc.matches ?? []).map((src, i) => ({ src, re: this.regex(src, `${path}.matches[${i}]`) }));
    const keywords = (tc.keywords ?? []).map((src, i) => {
      const key = matchKey(src);
      if (key === '') this.fail(`${path}.keywords[${i}]`, 'empty keyword (it would match every message)');
      return { src, key };
    });
    const unless = (tc.unless ?? []).map((src, i) => ({ src, re: this.regex(src, `${path}.unless[${i}]`) }));
    const required = matches.length + keywords.length > 0;
    return (e) => {
      const text = e.text();
      let why = 'text (no patterns)';
      if (required) {
        const hit = firstHit(text, matches, keywords);
        if (!hit) return { ok: false, why: 'text: no pattern or keyword matched' };
        for (const [k, v] of Object.entries(hit.groups)) if (!(k in e.captures)) e.captures[k] = v;
        why = `text matched ${quote(hit.src)} at ${quote(hit.found)}`;
      }
      for (const u of unless) {
        // `test` runs on the engine's fast path; only a hit pays for `exec`.
        const m = u.re.test(text) ? u.re.exec(text) : null;
        if (m) return { ok: false, why: `text vetoed by unless ${quote(u.src)} at ${quote(m.text)}` };
      }
      return { ok: true, why };
    };
  }

  model(mc: ModelCond, path: string): Check {
    const { topic } = mc;
    const atLeast = mc.atLeast ?? 0.5;
    if (this.modelTopics && !this.modelTopics.includes(topic)) {
      this.fail(`${path}.topic`, `the model has no topic ${quote(topic)} (it knows ${this.modelTopics.join(', ')})`);
    }
    const { minWords } = mc;
    return (e) => {
      if (minWords !== undefined) {
        const words = modelWords(e.text()).length;
        if (words < minWords) return { ok: false, why: `model: ${words} word${words === 1 ? '' : 's'} < ${minWords}, too little text to trust a score` };
      }
      const scores = e.scores();
      if (scores === undefined) return { ok: false, why: 'model: no model is loaded' };
      const score = scores[topic];
      if (score === undefined) return { ok: false, why: `model: the loaded model has no topic ${quote(topic)}` };
      const ok = score >= atLeast;
      return { ok, why: `model ${topic} ${score.toFixed(2)} ${ok ? '≥' : '<'} ${atLeast}` };
    };
  }

  time(tw: TimeCond, path: string): Check {
    if (tw.timezone !== undefined && !isValidTimeZone(tw.timezone)) {
      this.fail(`${path}.timezone`, `unknown IANA time zone ${quote(tw.timezone)}`);
    }
    const clock = (key: 'from' | 'to', fallback: number): number => {
      const raw = tw[key];
      if (raw === undefined) return fallback;
      const minutes = parseClock(raw);
      return minutes ?? this.fail(`${path}.${key}`, `${quote(raw)} is not a time of day (00:00–24:00)`);
    };
    const window: Window = { from: clock('from', 0), to: clock('to', 24 * 60), days: tw.days, timezone: tw.timezone };
    const span = `${tw.days ? `${tw.days.join(',')} ` : ''}${tw.from ?? '00:00'}–${tw.to ?? '24:00'}`;
    return (e) => {
      const zone = tw.timezone ?? e.timezone;
      if (!isValidTimeZone(zone)) return { ok: false, why: `time: unknown time zone ${quote(zone)}` };
      const { day, minutes } = localClock(e.now, zone);
      const hhmm = `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
      const ok = inWindow(window, e.now, zone);
      return { ok, why: `time ${day} ${hhmm} ${zone} is ${ok ? 'inside' : 'outside'} ${span}` };
    };
  }
}

function flag(want: boolean, label: string, get: (e: MatchEnv) => boolean): Check {
  return (e) => {
    const actual = get(e);
    return { ok: actual === want, why: `${label}: ${actual ? 'yes' : 'no'}` };
  };
}

function firstHit(
  text: string,
  matches: readonly { src: string; re: LinearRegex }[],
  keywords: readonly { src: string; key: string }[],
): { src: string; found: string; groups: Record<string, string> } | undefined {
  for (const { src, re } of matches) {
    const m = re.test(text) ? re.exec(text) : null;
    if (m) return { src, found: m.text, groups: m.groups };
  }
  for (const { src, key } of keywords) {
    if (text.includes(key)) return { src, found: key, groups: {} };
  }
  return undefined;
}

function senderField(message: NormalizedMessage, field: string): string | undefined {
  const v: unknown = (message.sender as Record<string, unknown>)[field];
  return typeof v === 'string' ? v : undefined;
}

function formField(message: NormalizedMessage, field: string): string | undefined {
  const fields = message.form?.fields;
  return fields && Object.hasOwn(fields, field) ? fields[field] : undefined;
}

/**
 * `modelTopics`: the loaded model's topics, so a rule naming another topic fails to compile;
 * `patterns`: the set the rule set's patterns share (one scan of each text serves them all).
 */
export function compileCondition(
  ruleName: string,
  cond: Condition | undefined,
  modelTopics?: readonly string[],
  patterns: PatternCompiler = new PatternSet(),
): Check {
  if (cond === undefined) return () => ({ ok: true, why: 'no conditions' });
  return new ConditionCompiler(ruleName, modelTopics, patterns).condition(cond, 'when');
}

/**
 * Text conditions read at most this many characters of normalized text, so a very long email
 * (a quoted thread, a pasted log) costs no more than a long message and cannot stall a worker.
 */
export const MAX_SEARCH_CHARS = 8000;
/** Raw characters normalized per part: generous enough that the cut above decides. */
const MAX_RAW_CHARS = 8 * MAX_SEARCH_CHARS;

/**
 * The text that text conditions search: subject, message text, form field values and call
 * transcript, one per line, cut to MAX_SEARCH_CHARS. The subject comes first so that a long
 * body never pushes the customer's own summary out.
 */
export function searchableText(message: NormalizedMessage): string {
  const parts = [
    message.conversation.subject ?? '',
    message.text,
    ...Object.values(message.form?.fields ?? {}),
    message.call?.transcript ?? '',
  ];
  // One part per line, so `.` in a pattern never spans from one field into the next.
  const text = parts.map((p) => matchKey(p.slice(0, MAX_RAW_CHARS))).filter(Boolean).join('\n');
  if (text.length <= MAX_SEARCH_CHARS) return text;
  const cut = text.slice(0, MAX_SEARCH_CHARS);
  // Never leave half of a surrogate pair at the end.
  return /[\uD800-\uDBFF]$/u.test(cut) ? cut.slice(0, -1) : cut;
}
