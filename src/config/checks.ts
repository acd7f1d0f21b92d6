import { compileRules, RuleCompileError } from '../core/rules/engine.ts';
import { Rule as RuleSchema, type Condition, type Rule } from '../core/rules/schema.ts';
import { hint, suggest } from './issues.ts';
import type { ConnectorRegistry } from './schema.ts';
import type { Path } from './data.ts';
import type { LocatedMessage } from './zod-issues.ts';

/**
 * Checks a schema cannot express: names that must refer to something defined elsewhere, and
 * rules that must compile in the engine (patterns, zones). Errors stop the load; warnings
 * are things that will not crash but will surprise (an unmapped group, an unknown channel).
 */

export interface CheckResult {
  errors: LocatedMessage[];
  warnings: LocatedMessage[];
}

type ValueCond = NonNullable<Condition['channel']>;

function err(path: Path, message: string): LocatedMessage {
  return { path, at: 'value', message };
}

/** The plain names a value condition compares against (not regexes, not `exists`). */
function namesIn(cond: ValueCond, at: Path): { name: string; path: Path }[] {
  if (typeof cond === 'string') return [{ name: cond, path: at }];
  if (Array.isArray(cond)) return cond.map((name, i) => ({ name, path: [...at, i] }));
  const out: { name: string; path: Path }[] = [];
  if (cond.equals !== undefined) out.push({ name: cond.equals, path: [...at, 'equals'] });
  cond.in?.forEach((name, i) => out.push({ name, path: [...at, 'in', i] }));
  return out;
}

interface Known {
  channels: string[];
  channelKinds: string[];
}

/** Channel names a rule compares against that do not exist: the rule would silently never fire. */
function checkNames(cond: Condition, at: Path, known: Known, out: CheckResult): void {
  if (cond.channel !== undefined) {
    for (const { name, path } of namesIn(cond.channel, [...at, 'channel'])) {
      if (!known.channels.includes(name)) {
        out.warnings.push(err(path, `no channel '${name}' is configured, so this never matches; ${hint(name, known.channels, 'configured channels')}`));
      }
    }
  }
  if (cond.channelKind !== undefined) {
    for (const { name, path } of namesIn(cond.channelKind, [...at, 'channelKind'])) {
      if (!known.channelKinds.includes(name)) {
        out.warnings.push(err(path, `'${name}' is not a channel kind of this build; ${hint(name, known.channelKinds, 'known kinds')}`));
      }
    }
  }
  cond.all?.forEach((c, i) => checkNames(c, [...at, 'all', i], known, out));
  cond.any?.forEach((c, i) => checkNames(c, [...at, 'any', i], known, out));
  cond.atLeast?.of.forEach((c, i) => checkNames(c, [...at, 'atLeast', 'of', i], known, out));
  if (cond.not !== undefined) checkNames(cond.not, [...at, 'not'], known, out);
}

/** Where a rule asks the text model: without a `model:` section those conditions never hold. */
function modelConditions(cond: Condition, at: Path): Path[] {
  return [
    ...(cond.model !== undefined ? [[...at, 'model']] : []),
    ...(cond.all ?? []).flatMap((c, i) => modelConditions(c, [...at, 'all', i])),
    ...(cond.any ?? []).flatMap((c, i) => modelConditions(c, [...at, 'any', i])),
    ...(cond.atLeast?.of ?? []).flatMap((c, i) => modelConditions(c, [...at, 'atLeast', 'of', i])),
    ...(cond.not !== undefined ? modelConditions(cond.not, [...at, 'not']) : []),
  ];
}

/** `when.any[0].text.matches[2]` → ['when', 'any', 0, 'text', 'matches', 2] */
function parseRulePath(p: string): Path {
  return [...p.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] === undefined ? m[1] ?? '' : Number(m[2])));
}

/** Compiles the rule exactly as the engine will (patterns, zones, sender fields): one error per rule. */
function compileIssue(rule: Rule, at: Path): LocatedMessage | undefined {
  try {
    compileRules([rule]);
    return undefined;
  } catch (e) {
    if (!(e instanceof RuleCompileError)) throw e;
    const prefix = `rule "${e.ruleName}", ${e.path}: `;
    const problem = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
    return err([...at, ...parseRulePath(e.path)], problem);
  }
}

function notifyTargets(rule: Rule, at: Path): { target: string; path: Path }[] {
  if (rule.notify === undefined) return [];
  if (typeof rule.notify === 'string') return [{ target: rule.notify, path: [...at, 'notify'] }];
  return rule.notify.map((target, i) => ({ target, path: [...at, 'notify', i] }));
}

/** What the checks look at; built from the raw merged data so they also run when other parts are invalid. */
export interface CheckInput {
  /** Rules by their merged index; undefined where the rule itself is invalid (the schema reports it). */
  rules: (Rule | undefined)[];
  replyNames: string[];
  notifierIds: string[];
  channelIds: string[];
  /** Symbolic groups mapped in `helpdesk.groups`. */
  groups: string[];
  /** Symbolic custom fields mapped in `helpdesk.fields`. */
  fields: string[];
  /** `sla.notify` and the channel ids `sla.targets.channels` names. */
  sla: { notify: string[]; targetChannels: string[] };
  /** The config names a text model (`model.path`). */
  hasModel: boolean;
}

function keysOf(v: unknown): string[] {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.keys(v) : [];
}

export function checkInput(merged: Record<string, unknown>): CheckInput {
  const rules = Array.isArray(merged.rules) ? merged.rules.map((r) => RuleSchema.safeParse(r).data) : [];
  const helpdesk = merged.helpdesk as { groups?: unknown; fields?: unknown } | undefined;
  return {
    rules,
    replyNames: keysOf(merged.replies),
    notifierIds: keysOf(merged.notifiers),
    channelIds: keysOf(merged.channels),
    groups: keysOf(helpdesk?.groups),
    fields: keysOf(helpdesk?.fields),
    sla: slaNames(merged.sla),
    hasModel: keysOf(merged.model).includes('path'),
  };
}

function slaNames(sla: unknown): CheckInput['sla'] {
  const s = (typeof sla === 'object' && sla !== null ? sla : {}) as { notify?: unknown; targets?: { channels?: unknown } };
  const notify = Array.isArray(s.notify) ? s.notify.filter((t): t is string => typeof t === 'string') : [];
  return { notify, targetChannels: keysOf(s.targets?.channels) };
}

/** A notice target (`slack:compliance`) must name a configured notifier. */
function checkNotifyTarget(target: string, path: Path, notifierIds: string[], out: CheckResult): void {
  const id = target.split(':')[0] ?? '';
  if (notifierIds.length === 0) {
    out.warnings.push(err(path, `no notifiers are configured, so the notice to '${target}' will not be sent`));
  } else if (!notifierIds.includes(id)) {
    const s = suggest(id, notifierIds);
    const mean = s === undefined ? `configured notifiers: ${notifierIds.join(', ')}` : `did you mean '${s}'?`;
    out.errors.push(err(path, `no notifier '${id}' in notifiers; ${mean}`));
  }
}

/** SLA targets name channels and notifiers that must exist, or the promise silently covers nothing. */
function checkSla(input: CheckInput, out: CheckResult): void {
  input.sla.notify.forEach((target, i) => checkNotifyTarget(target, ['sla', 'notify', i], input.notifierIds, out));
  for (const id of input.sla.targetChannels) {
    if (!input.channelIds.includes(id)) {
      out.errors.push(err(['sla', 'targets', 'channels', id], `no channel '${id}' is configured; ${hint(id, input.channelIds, 'configured channels')}`));
    }
  }
}

/**
 * @param where renders a merged-config path as `file:line`, to name the other place of a duplicate.
 */
export function crossCheck(input: CheckInput, registry: ConnectorRegistry, where: (path: Path) => string): CheckResult {
  const out: CheckResult = { errors: [], warnings: [] };
  const { replyNames, notifierIds, groups, fields } = input;
  const known: Known = {
    channels: input.channelIds,
    channelKinds: registry.channels.map((c) => c.kind),
  };
  const firstByName = new Map<string, number>();

  input.rules.forEach((rule, i) => {
    if (rule === undefined) return;
    const at: Path = ['rules', i];
    const first = firstByName.get(rule.name);
    if (first === undefined) firstByName.set(rule.name, i);
    else out.errors.push(err([...at, 'name'], `rule name '${rule.name}' is already used at ${where(['rules', first, 'name'])}`));

    if (rule.reply !== undefined && !replyNames.includes(rule.reply)) {
      out.errors.push(err([...at, 'reply'], `no reply named '${rule.reply}' in replies; ${hint(rule.reply, replyNames, 'defined replies')}`));
    }
    for (const { target, path } of notifyTargets(rule, at)) checkNotifyTarget(target, path, notifierIds, out);
    // Only checked when a mapping exists: a dry-run helpdesk has none and needs none.
    const group = rule.set?.group;
    if (group !== undefined && groups.length > 0 && !groups.includes(group)) {
      out.warnings.push(err([...at, 'set', 'group'],
        `group '${group}' is not mapped in helpdesk.groups, so tickets routed there cannot be assigned; ${hint(group, groups, 'mapped groups')}`));
    }
    for (const field of Object.keys(rule.set?.fields ?? {})) {
      if (fields.length > 0 && !fields.includes(field)) {
        out.warnings.push(err([...at, 'set', 'fields', field],
          `field '${field}' is not mapped in helpdesk.fields, so the helpdesk cannot set it; ${hint(field, fields, 'mapped fields')}`));
      }
    }
    const compileError = compileIssue(rule, at);
    if (compileError !== undefined) out.errors.push(compileError);
    if (rule.when !== undefined) {
      checkNames(rule.when, [...at, 'when'], known, out);
      if (!input.hasModel) {
        for (const path of modelConditions(rule.when, [...at, 'when'])) {
          out.warnings.push(err(path, 'no text model is configured (model.path), so this condition never holds; train one with `switchboard model train`'));
        }
      }
    }
  });
  checkSla(input, out);
  return out;
}
