import type { Condition, Rule } from '../core/rules/schema.ts';
import { hint, suggest } from './issues.ts';
import type { Config, ConnectorRegistry } from './schema.ts';
import type { Path } from './schema-walk.ts';
import { isTimeZone } from './sections.ts';
import type { LocatedMessage } from './zod-issues.ts';

/**
 * Checks across sections that a schema cannot express: names that must refer to something
 * defined elsewhere, and regexes and zones that must compile. Errors stop the load; warnings
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

function regexIssue(pattern: string): string | undefined {
  try {
    new RegExp(pattern, 'iu');
    return undefined;
  } catch (e) {
    return `invalid regular expression: ${(e as Error).message}`;
  }
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

function checkCondition(cond: Condition, at: Path, known: Known, out: CheckResult): void {
  const regexes: { pattern: string; path: Path }[] = [];
  cond.text?.matches?.forEach((pattern, i) => regexes.push({ pattern, path: [...at, 'text', 'matches', i] }));
  cond.text?.unless?.forEach((pattern, i) => regexes.push({ pattern, path: [...at, 'text', 'unless', i] }));

  const valueConds: [ValueCond | undefined, Path][] = [
    [cond.channel, [...at, 'channel']],
    [cond.channelKind, [...at, 'channelKind']],
    [cond.kind, [...at, 'kind']],
    ...Object.entries(cond.sender ?? {}).map(([k, v]): [ValueCond, Path] => [v, [...at, 'sender', k]]),
    ...Object.entries(cond.form ?? {}).map(([k, v]): [ValueCond, Path] => [v, [...at, 'form', k]]),
  ];
  for (const [vc, path] of valueConds) {
    if (vc !== undefined && typeof vc === 'object' && !Array.isArray(vc) && vc.matches !== undefined) {
      regexes.push({ pattern: vc.matches, path: [...path, 'matches'] });
    }
  }
  for (const { pattern, path } of regexes) {
    const problem = regexIssue(pattern);
    if (problem !== undefined) out.errors.push(err(path, problem));
  }

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
  const zone = cond.time?.timezone;
  if (zone !== undefined && !isTimeZone(zone)) out.errors.push(err([...at, 'time', 'timezone'], 'unknown IANA time zone'));

  cond.all?.forEach((c, i) => checkCondition(c, [...at, 'all', i], known, out));
  cond.any?.forEach((c, i) => checkCondition(c, [...at, 'any', i], known, out));
  if (cond.not !== undefined) checkCondition(cond.not, [...at, 'not'], known, out);
}

function notifyTargets(rule: Rule, at: Path): { target: string; path: Path }[] {
  if (rule.notify === undefined) return [];
  if (typeof rule.notify === 'string') return [{ target: rule.notify, path: [...at, 'notify'] }];
  return rule.notify.map((target, i) => ({ target, path: [...at, 'notify', i] }));
}

/**
 * @param where renders a merged-config path as `file:line`, to name the other place of a duplicate.
 */
export function crossCheck(config: Config, registry: ConnectorRegistry, where: (path: Path) => string): CheckResult {
  const out: CheckResult = { errors: [], warnings: [] };
  const replyNames = Object.keys(config.replies);
  const notifierIds = Object.keys(config.notifiers);
  const groups = Object.keys((config.helpdesk as { groups?: Record<string, unknown> }).groups ?? {});
  const known: Known = {
    channels: Object.keys(config.channels),
    channelKinds: registry.channels.map((c) => c.kind),
  };
  const firstByName = new Map<string, number>();

  config.rules.forEach((rule, i) => {
    const at: Path = ['rules', i];
    const first = firstByName.get(rule.name);
    if (first === undefined) firstByName.set(rule.name, i);
    else out.errors.push(err([...at, 'name'], `rule name '${rule.name}' is already used at ${where(['rules', first, 'name'])}`));

    if (rule.reply !== undefined && !replyNames.includes(rule.reply)) {
      out.errors.push(err([...at, 'reply'], `no reply named '${rule.reply}' in replies; ${hint(rule.reply, replyNames, 'defined replies')}`));
    }
    for (const { target, path } of notifyTargets(rule, at)) {
      const id = target.split(':')[0] ?? '';
      if (notifierIds.length === 0) {
        out.warnings.push(err(path, `no notifiers are configured, so the notice to '${target}' will not be sent`));
      } else if (!notifierIds.includes(id)) {
        const s = suggest(id, notifierIds);
        const mean = s === undefined ? `configured notifiers: ${notifierIds.join(', ')}` : `did you mean '${s}'?`;
        out.errors.push(err(path, `no notifier '${id}' in notifiers; ${mean}`));
      }
    }
    const group = rule.set?.group;
    if (group !== undefined && groups.length > 0 && !groups.includes(group)) {
      out.warnings.push(err([...at, 'set', 'group'],
        `group '${group}' is not mapped in helpdesk.groups, so the helpdesk will refuse these tickets; ${hint(group, groups, 'mapped groups')}`));
    }
    if (rule.when !== undefined) checkCondition(rule.when, [...at, 'when'], known, out);
  });
  return out;
}
