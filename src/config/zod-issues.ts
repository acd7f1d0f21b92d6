import type { z } from 'zod';
import { hint, suggest } from './issues.ts';
import { CONNECTOR_SECTIONS } from './schema.ts';
import { valueAt, type Path } from './data.ts';
import { allowedKeys } from './schema-walk.ts';

/**
 * Turns zod's issues into admin-facing ones: one per unknown key with a did-you-mean, unknown
 * kinds with the known ones listed, the closest branch of a union instead of "Invalid input",
 * and never a received value for a secret key.
 */

export interface LocatedMessage {
  /** Path in the merged config data. */
  path: Path;
  /** Report at the key (unknown keys, bad record keys) rather than at the value. */
  at: 'key' | 'value';
  message: string;
}

export interface TranslateContext {
  schema: z.core.$ZodType;
  data: unknown;
  isSecret(path: Path): boolean;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'number') return 'a number';
  if (typeof v === 'boolean') return 'true/false';
  return typeof v;
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
};

function expected(name: string): string {
  return EXPECTED[name] ?? name;
}

function bound(origin: string, n: number | bigint, inclusive: boolean | undefined, atLeast: boolean): string {
  const cmp = atLeast ? (inclusive === false ? 'more than' : 'at least') : inclusive === false ? 'less than' : 'at most';
  if (origin === 'string') return `must be ${cmp} ${n} characters long`;
  if (origin === 'array' || origin === 'set') return `must have ${cmp} ${n} items`;
  return `must be ${cmp} ${n}`;
}

/**
 * Default messages for issues whose schema did not set its own. They describe what is
 * expected and the received type, never the received value.
 */
export const errorMap: z.core.$ZodErrorMap = (iss) => {
  switch (iss.code) {
    case 'invalid_type':
      if (iss.input === undefined) return 'is required';
      if (iss.expected === 'boolean' && typeof iss.input === 'string' && /^(yes|no|on|off|y|n)$/i.test(iss.input)) {
        return 'expected true or false (YAML 1.2 reads yes/no/on/off as text)';
      }
      return `expected ${expected(iss.expected)}, got ${typeName(iss.input)}`;
    case 'too_small':
      return bound(iss.origin, iss.minimum, iss.inclusive, true);
    case 'too_big':
      return bound(iss.origin, iss.maximum, iss.inclusive, false);
    case 'invalid_format':
      if (iss.format === 'regex') return `must match ${String(iss.pattern)}`;
      if (iss.format === 'url') return 'must be a URL';
      if (iss.format === 'email') return 'must be an email address';
      return `must be a valid ${iss.format}`;
    case 'invalid_value':
      return iss.values.length === 1 ? `must be ${JSON.stringify(iss.values[0])}` : `must be one of: ${iss.values.map(String).join(', ')}`;
    case 'not_multiple_of':
      return `must be a multiple of ${iss.divisor}`;
    default:
      return undefined;
  }
};

function sectionLabel(path: Path): string {
  const head = path[0];
  if (typeof head === 'string' && head in CONNECTOR_SECTIONS) return CONNECTOR_SECTIONS[head as keyof typeof CONNECTOR_SECTIONS].label;
  return typeof head === 'string' ? head : 'entry';
}

function unknownKind(iss: z.core.$ZodIssue & { code: 'invalid_union' }, ctx: TranslateContext): LocatedMessage {
  const kinds = ('options' in iss ? iss.options ?? [] : []).map(String);
  const tag = iss.discriminator ?? 'kind';
  const value = valueAt(ctx.data, iss.path);
  const known = `known kinds: ${kinds.join(', ') || 'none'}`;
  if (value === undefined) return { path: iss.path, at: 'key', message: `is required (${known})` };
  const label = sectionLabel(iss.path);
  if (typeof value !== 'string') return { path: iss.path, at: 'value', message: `${tag} must be a string (${known})` };
  const s = suggest(value, kinds);
  const mean = s === undefined ? '' : `, did you mean '${s}'?`;
  return { path: iss.path, at: 'value', message: `unknown ${label} ${tag} '${value}'${mean} (${known})` };
}

/** The union branch that got furthest: its deepest issue is deepest, then it has the fewest issues. */
function closestBranch(branches: z.core.$ZodIssue[][]): z.core.$ZodIssue[] | undefined {
  const depth = (b: z.core.$ZodIssue[]) => Math.max(...b.map((i) => i.path.length + (i.code === 'invalid_type' ? 0 : 1)));
  let best: z.core.$ZodIssue[] | undefined;
  for (const b of branches) {
    if (b.length === 0) continue;
    if (best === undefined || depth(b) > depth(best) || (depth(b) === depth(best) && b.length < best.length)) best = b;
  }
  return best;
}

function translateUnion(iss: z.core.$ZodIssue & { code: 'invalid_union' }, ctx: TranslateContext): LocatedMessage[] {
  if (iss.discriminator !== undefined || ('note' in iss && iss.note === 'No matching discriminator')) return [unknownKind(iss, ctx)];
  const branches = iss.errors;
  const allShallowTypes = branches.every((b) => b.length === 1 && b[0]?.code === 'invalid_type' && b[0].path.length === 0);
  const best = closestBranch(branches);
  if (allShallowTypes || best === undefined) {
    const names = [...new Set(branches.flatMap((b) => b.map((i) => (i.code === 'invalid_type' ? expected(i.expected) : ''))))].filter(Boolean);
    const got = typeName(valueAt(ctx.data, iss.path));
    return [{ path: iss.path, at: 'value', message: `expected ${names.join(' or ') || 'another form'}, got ${got}` }];
  }
  return best.flatMap((inner) => translate({ ...inner, path: [...iss.path, ...inner.path] } as z.core.$ZodIssue, ctx));
}

function translate(iss: z.core.$ZodIssue, ctx: TranslateContext): LocatedMessage[] {
  switch (iss.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeys(ctx.schema, ctx.data, iss.path);
      return iss.keys.map((key) => ({ path: [...iss.path, key], at: 'key' as const, message: `unknown key '${key}', ${hint(key, allowed)}` }));
    }
    case 'invalid_union':
      return translateUnion(iss, ctx);
    case 'invalid_key': {
      const key = iss.path[iss.path.length - 1];
      const why = iss.issues.map((i) => i.message).join('; ');
      return [{ path: iss.path, at: 'key', message: `key '${String(key)}' ${why}` }];
    }
    case 'invalid_type':
      return [{ path: iss.path, at: 'value', message: echoValue(iss, ctx) }];
    case 'invalid_value': {
      const value = valueAt(ctx.data, iss.path);
      if (ctx.isSecret(iss.path) || (typeof value !== 'string' && typeof value !== 'number')) {
        return [{ path: iss.path, at: 'value', message: iss.message }];
      }
      const s = suggest(String(value), iss.values.map(String));
      const mean = s === undefined ? '' : `, did you mean '${s}'?`;
      return [{ path: iss.path, at: 'value', message: `${iss.message} (got '${String(value)}'${mean})` }];
    }
    default:
      return [{ path: iss.path, at: 'value', message: iss.message }];
  }
}

/** A short value that is not a secret is quoted back, so `required: ture` shows what was typed. */
function echoValue(iss: z.core.$ZodIssue & { code: 'invalid_type' }, ctx: TranslateContext): string {
  const value = valueAt(ctx.data, iss.path);
  const got = `got ${typeName(value)}`;
  if (!iss.message.endsWith(got) || ctx.isSecret(iss.path)) return iss.message;
  if (typeof value === 'number') return `${iss.message.slice(0, -got.length)}got ${value}`;
  if (typeof value !== 'string' || value.length > 60) return iss.message;
  const s = iss.expected === 'boolean' ? suggest(value, ['true', 'false']) : undefined;
  return `${iss.message.slice(0, -got.length)}got '${value}'${s === undefined ? '' : `; did you mean ${s}?`}`;
}

export function translateIssues(issues: readonly z.core.$ZodIssue[], ctx: TranslateContext): LocatedMessage[] {
  return issues.flatMap((iss) => translate(iss, ctx));
}
