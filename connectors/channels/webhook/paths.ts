import { z } from 'zod';
import { compileLinear, type LinearRegex } from '../../../src/core/linear-regex.ts';

/**
 * The small language admins use to map a vendor's payload: field paths (`from.number`,
 * `files[].url`, `items.0.id`, `$path`, `$query.token`), templates (`Missed call from {{from.number}}`),
 * lists of alternatives (the first that yields a value), and conditions on a path.
 */

const SEGMENT = String.raw`[A-Za-z0-9_@-]+(?:\[\])?`;
const PATH_RE = new RegExp(String.raw`^(?:\$path|\$query\.[A-Za-z0-9_-]+|${SEGMENT}(?:\.${SEGMENT})*)$`);
const PLACEHOLDER = /\{\{\s*([^}]*?)\s*\}\}/g;

export function isPath(s: string): boolean {
  return PATH_RE.test(s);
}

function checkTemplate(s: string, ctx: z.RefinementCtx): void {
  if (s.includes('{{')) {
    for (const m of s.matchAll(PLACEHOLDER)) {
      if (!isPath(m[1]!)) ctx.addIssue({ code: 'custom', message: `"{{${m[1]}}}" is not a field path (e.g. from.number, files[].url, $path)` });
    }
  } else if (!isPath(s)) {
    ctx.addIssue({ code: 'custom', message: `"${s}" is not a field path (e.g. message.text, from.number, files[].url); use {{…}} for a template` });
  }
}

const Expression = z.string().min(1).superRefine(checkTemplate);

/** A field path, a template with {{paths}}, or a list of them (the first that yields a value wins). */
export const MappingValue = z.union([Expression, z.array(Expression).min(1)]);
export type MappingValue = z.infer<typeof MappingValue>;

const Scalar = z.union([z.string(), z.number(), z.boolean()]);

export const Condition = z.strictObject({
  path: z.string().refine(isPath, 'a field path, e.g. event, from.number, $path'),
  equals: Scalar.optional(),
  notEquals: Scalar.optional(),
  in: z.array(Scalar).optional(),
  notIn: z.array(Scalar).optional(),
  exists: z.boolean().optional().describe('true: the field is present and not empty; false: it is absent or empty'),
  matches: z.string().optional().describe('a regular expression the value must match (case-insensitive)'),
}).superRefine((c, ctx) => {
  const ops = ['equals', 'notEquals', 'in', 'notIn', 'exists', 'matches'].filter((k) => c[k as keyof typeof c] !== undefined);
  if (ops.length !== 1) ctx.addIssue({ code: 'custom', message: 'give exactly one of equals, notEquals, in, notIn, exists, matches' });
  if (c.matches !== undefined) {
    try {
      new RegExp(c.matches, 'iu');
      matcher(c.matches);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['matches'], message: `invalid regular expression: ${(err as Error).message}` });
    }
  }
});
export type Condition = z.infer<typeof Condition>;

/** What paths are read from: the parsed body, the sub-path below the channel's URL, the query. */
export interface Source {
  body: unknown;
  path: string;
  query: Record<string, string | undefined>;
}

/** Every value the path reaches (several when it crosses a `[]`). */
export function readAll(src: Source, path: string): unknown[] {
  if (path === '$path') return [src.path];
  if (path.startsWith('$query.')) {
    const v = src.query[path.slice(7)];
    return v === undefined ? [] : [v];
  }
  let current: unknown[] = [src.body];
  for (const raw of path.split('.')) {
    const spread = raw.endsWith('[]');
    const key = spread ? raw.slice(0, -2) : raw;
    const next: unknown[] = [];
    for (const node of current) {
      const value = child(node, key);
      if (value === undefined || value === null) continue;
      if (spread) {
        if (Array.isArray(value)) next.push(...value.filter((v) => v !== undefined && v !== null));
      } else next.push(value);
    }
    current = next;
  }
  return current;
}

function child(node: unknown, key: string): unknown {
  if (Array.isArray(node)) return /^\d+$/.test(key) ? node[Number(key)] : undefined;
  if (typeof node === 'object' && node !== null) return Object.hasOwn(node, key) ? (node as Record<string, unknown>)[key] : undefined;
  return undefined;
}

function scalarText(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() === '' ? undefined : v.trim();
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** The first scalar at the path, as text; undefined when absent or empty. */
export function readText(src: Source, path: string): string | undefined {
  for (const v of readAll(src, path)) {
    const t = scalarText(v);
    if (t !== undefined) return t;
  }
  return undefined;
}

/** Every scalar at the path, as text (for lists such as attachment URLs). */
export function readTexts(src: Source, path: string): string[] {
  return readAll(src, path).map(scalarText).filter((t): t is string => t !== undefined);
}

function renderOne(src: Source, expr: string): string | undefined {
  if (!expr.includes('{{')) return readText(src, expr);
  let found = false;
  const out = expr.replace(PLACEHOLDER, (_m, p: string) => {
    const v = readText(src, p);
    if (v !== undefined) found = true;
    return v ?? '';
  });
  // A template none of whose fields exist says nothing; let the next alternative speak.
  return found ? out.trim() : undefined;
}

export function render(src: Source, value: MappingValue | undefined): string | undefined {
  if (value === undefined) return undefined;
  for (const expr of Array.isArray(value) ? value : [value]) {
    const v = renderOne(src, expr);
    if (v !== undefined) return v;
  }
  return undefined;
}

const matchers = new Map<string, LinearRegex>();

/** The admin's pattern, compiled once for the linear engine: it runs on the vendor's values. */
function matcher(src: string): LinearRegex {
  let re = matchers.get(src);
  if (!re) matchers.set(src, (re = compileLinear(src)));
  return re;
}

/** Values compare as text, so `equals: 0` matches a "0" sent as a form field. */
export function holds(src: Source, c: Condition): boolean {
  const value = readText(src, c.path);
  const same = (x: string | number | boolean) => value !== undefined && value === String(x);
  if (c.exists !== undefined) return c.exists === (value !== undefined);
  if (c.equals !== undefined) return same(c.equals);
  if (c.notEquals !== undefined) return !same(c.notEquals);
  if (c.in !== undefined) return c.in.some(same);
  if (c.notIn !== undefined) return !c.notIn.some(same);
  if (c.matches !== undefined) return value !== undefined && matcher(c.matches).test(value);
  return false;
}

export function describeCondition(c: Condition): string {
  const [op, v] = Object.entries(c).find(([k]) => k !== 'path')!;
  return `${c.path} ${op} ${JSON.stringify(v)}`;
}
