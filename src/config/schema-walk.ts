import type { z } from 'zod';
import { isRecord, valueAt, type Path } from './data.ts';

/**
 * Finding the zod schema that governs one spot of the config, so errors can list the keys
 * allowed there (did-you-mean) and interpolated strings can be typed by what is expected.
 */

type Schema = z.core.$ZodType;

function defOf(schema: Schema): z.core.$ZodTypes['_zod']['def'] {
  return (schema as z.core.$ZodTypes)._zod.def;
}

/** Looks through wrappers (optional, default, lazy, the input side of a pipe, …). */
function unwrap(schema: Schema): Schema {
  let s = schema;
  for (let depth = 0; depth < 64; depth++) {
    const def = defOf(s);
    switch (def.type) {
      case 'optional':
      case 'nullable':
      case 'default':
      case 'prefault':
      case 'nonoptional':
      case 'readonly':
      case 'catch':
        s = def.innerType;
        break;
      case 'lazy':
        s = def.getter();
        break;
      case 'pipe':
        s = def.in;
        break;
      default:
        return s;
    }
  }
  return s;
}

/** The literal values an object schema's `key` accepts (a discriminator), if it is a literal. */
function literalValues(objectSchema: Schema, key: string): unknown[] {
  const def = defOf(unwrap(objectSchema));
  if (def.type !== 'object') return [];
  const prop = def.shape[key];
  if (prop === undefined) return [];
  const pdef = defOf(unwrap(prop));
  return pdef.type === 'literal' ? [...pdef.values] : [];
}

/** A union's option that fits `value` best: by discriminator, else by the value's shape. */
function pickOption(options: readonly Schema[], discriminator: string | undefined, value: unknown): Schema | undefined {
  if (discriminator !== undefined) {
    const tag = isRecord(value) ? value[discriminator] : undefined;
    return options.find((o) => literalValues(o, discriminator).includes(tag));
  }
  const wanted = Array.isArray(value) ? ['array', 'tuple'] : isRecord(value) ? ['object', 'record'] : undefined;
  if (wanted === undefined) return undefined;
  return options.find((o) => wanted.includes(defOf(unwrap(o)).type));
}

/** Resolves wrappers and unions down to the concrete schema for `value`. */
export function resolveSchema(schema: Schema, value: unknown): Schema | undefined {
  let s: Schema | undefined = unwrap(schema);
  for (let depth = 0; s !== undefined && depth < 16; depth++) {
    const def = defOf(s);
    if (def.type !== 'union') return s;
    const discriminator = 'discriminator' in def && typeof def.discriminator === 'string' ? def.discriminator : undefined;
    const picked = pickOption(def.options, discriminator, value);
    s = picked === undefined ? undefined : unwrap(picked);
  }
  return s;
}

/** The schema one step below `schema` (which validates `value`) at `key`. */
export function childSchema(schema: Schema, value: unknown, key: PropertyKey): Schema | undefined {
  const s = resolveSchema(schema, value);
  if (s === undefined) return undefined;
  const def = defOf(s);
  switch (def.type) {
    case 'object':
      return typeof key === 'string' ? def.shape[key] ?? def.catchall : undefined;
    case 'record':
      return def.valueType;
    case 'array':
      return def.element;
    case 'intersection':
      return childSchema(def.left, value, key) ?? childSchema(def.right, value, key);
    default:
      return undefined;
  }
}

/** The schema at `path` inside `root`, following `data` to choose union options. */
export function schemaAt(root: Schema, data: unknown, path: Path): Schema | undefined {
  let schema: Schema | undefined = root;
  let value = data;
  for (const key of path) {
    if (schema === undefined) return undefined;
    schema = childSchema(schema, value, key);
    value = isRecord(value) || Array.isArray(value) ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  }
  return schema;
}

/** The keys an object accepts at `path` (empty when it is not an object there). */
export function allowedKeys(root: Schema, data: unknown, path: Path): string[] {
  const schema = schemaAt(root, data, path);
  if (schema === undefined) return [];
  const s = resolveSchema(schema, valueAt(data, path));
  if (s === undefined) return [];
  const def = defOf(s);
  return def.type === 'object' ? Object.keys(def.shape) : [];
}
