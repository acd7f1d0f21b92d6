import type { z } from 'zod';

/**
 * A zod schema's parse with a quick path for values that are already right, for the accept path
 * (every webhook's update and every normalized message is parsed once). The schema is read once
 * into plain checks; a value that passes them is returned as it is (no copy), with missing
 * defaults filled in. Anything the quick path is not sure of (a key the schema does not name, a
 * kind of schema it does not know, a failing check) goes to zod itself, so what is refused, and
 * the error that names the field, are zod's.
 */

/** Marks a value the quick path leaves to zod. */
const ZOD = Symbol('ask zod');
type Check = (value: unknown) => unknown;

export interface QuickParser<T> {
  /** The schema was read into a quick path (false: every value goes to zod). */
  readonly quick: boolean;
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: z.ZodError };
}

export function quickParser<S extends z.ZodType>(schema: S): QuickParser<z.output<S>> {
  const check = compile(schema);
  return {
    quick: check !== undefined,
    safeParse(value) {
      if (check) {
        const out = check(value);
        if (out !== ZOD) return { success: true, data: out as z.output<S> };
      }
      const r = schema.safeParse(value);
      return r.success ? { success: true, data: r.data } : { success: false, error: r.error };
    },
  };
}

interface Def {
  type: string;
  checks?: { _zod: { def: Record<string, unknown> } }[];
  shape?: Record<string, Schema>;
  catchall?: Schema;
  innerType?: Schema;
  element?: Schema;
  keyType?: Schema;
  valueType?: Schema;
  entries?: Record<string, unknown>;
  defaultValue?: unknown;
}
interface Schema {
  _zod: { def: Def };
}

/** A check for the schema, or undefined when it uses anything this does not know. */
function compile(schema: unknown): Check | undefined {
  const def = (schema as Schema)._zod.def;
  switch (def.type) {
    case 'unknown':
      return (v) => v;
    case 'boolean':
      return noChecks(def) ? (v) => (typeof v === 'boolean' ? v : ZOD) : undefined;
    case 'string':
      return stringCheck(def);
    case 'number':
      return numberCheck(def);
    case 'enum': {
      const values = new Set(Object.values(def.entries ?? {}));
      return noChecks(def) ? (v) => (values.has(v) ? v : ZOD) : undefined;
    }
    case 'optional': {
      const inner = compile(def.innerType);
      return inner && ((v) => (v === undefined ? v : inner(v)));
    }
    case 'array': {
      const element = compile(def.element);
      if (!element || !noChecks(def)) return undefined;
      return (v) => {
        if (!Array.isArray(v)) return ZOD;
        for (const item of v) if (element(item) !== item) return ZOD;
        return v;
      };
    }
    case 'record': {
      const key = compile(def.keyType);
      const value = compile(def.valueType);
      if (!key || !value || !noChecks(def) || (def.keyType as Schema)._zod.def.type !== 'string') return undefined;
      return (v) => {
        if (!isPlainObject(v)) return ZOD;
        for (const k of Object.keys(v)) if (key(k) !== k || value(v[k]) !== v[k]) return ZOD;
        return v;
      };
    }
    case 'object':
      return objectCheck(def);
    default:
      return undefined;
  }
}

const noChecks = (def: Def): boolean => (def.checks ?? []).length === 0;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Zod measures strings in code points; one is at most two UTF-16 units. */
function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function stringCheck(def: Def): Check | undefined {
  let min = 0;
  let max = Infinity;
  for (const c of def.checks ?? []) {
    const d = c._zod.def;
    if (d['check'] === 'min_length' && typeof d['minimum'] === 'number') min = Math.max(min, d['minimum']);
    else if (d['check'] === 'max_length' && typeof d['maximum'] === 'number') max = Math.min(max, d['maximum']);
    else return undefined;
  }
  return (v) => {
    if (typeof v !== 'string') return ZOD;
    if (v.length > max && codePoints(v) > max) return ZOD;
    if (v.length < 2 * min && codePoints(v) < min) return ZOD;
    return v;
  };
}

function numberCheck(def: Def): Check | undefined {
  let integer = false;
  let atLeast = -Infinity;
  for (const c of def.checks ?? []) {
    const d = c._zod.def;
    if (d['check'] === 'number_format' && d['format'] === 'safeint') integer = true;
    else if (d['check'] === 'greater_than' && d['inclusive'] === true && typeof d['value'] === 'number') atLeast = Math.max(atLeast, d['value']);
    else return undefined;
  }
  return (v) => (typeof v === 'number' && Number.isFinite(v) && (!integer || Number.isSafeInteger(v)) && v >= atLeast ? v : ZOD);
}

function objectCheck(def: Def): Check | undefined {
  const catchall = def.catchall?._zod.def.type;
  // A loose object keeps keys it does not name; a plain or strict one leaves them to zod (which drops or refuses them).
  const loose = catchall === 'unknown';
  if (!noChecks(def) || (catchall !== undefined && !loose && catchall !== 'never')) return undefined;
  const fields: { key: string; check: Check; fill?: () => unknown }[] = [];
  for (const [key, field] of Object.entries(def.shape ?? {})) {
    const fd = field._zod.def;
    const fill = fd.type === 'default' ? () => structuredClone(fd.defaultValue) : undefined;
    const check = compile(fill ? fd.innerType : field);
    if (!check) return undefined;
    fields.push({ key, check, fill });
  }
  const known = new Set(fields.map((f) => f.key));
  return (v) => {
    if (!isPlainObject(v)) return ZOD;
    if (!loose) for (const k in v) if (!known.has(k)) return ZOD;
    let out = v;
    for (const f of fields) {
      const value = v[f.key];
      if (value === undefined && f.fill) {
        if (out === v) out = { ...v };
        out[f.key] = f.fill();
      } else if (f.check(value) !== value) return ZOD;
    }
    return out;
  };
}
