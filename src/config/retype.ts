import { z } from 'zod';
import { setAt, valueAt, type Path } from './data.ts';
import { schemaAt } from './schema-walk.ts';

/** The text as YAML would read a plain scalar, when that is a number or a boolean. */
function asYamlScalar(text: string): number | boolean | undefined {
  if (/^(true|false)$/i.test(text)) return text.toLowerCase() === 'true';
  if (/^[-+]?(\d+|\d*\.\d+|\d+\.\d*)([eE][-+]?\d+)?$/.test(text)) return Number(text);
  return undefined;
}

/**
 * An unquoted `${VAR}` is read the way YAML reads a plain scalar, where the schema accepts that:
 * `port: ${PORT}` becomes a number, `trustProxy: ${TRUST}` a boolean, and an empty value
 * (`adminToken: ${ADMIN_TOKEN:-}`) leaves an optional key out. Otherwise the string stays,
 * so a numeric password is still a string. A quoted reference prefers the string.
 */
export function retype(schema: z.core.$ZodType, data: unknown, path: Path, plain: boolean): void {
  const leaf = schemaAt(schema, data, path);
  const value = valueAt(data, path);
  if (leaf === undefined || typeof value !== 'string') return;
  const scalar = asYamlScalar(value);
  const typed = scalar === undefined ? [] : [scalar];
  const absent = value === '' ? [undefined] : [];
  const candidates: unknown[] = plain ? [...absent, ...typed, value] : [value, ...typed, ...absent];
  const fit = candidates.findIndex((c) => z.safeParse(leaf, c).success);
  if (fit >= 0 && candidates[fit] !== value) setAt(data, path, candidates[fit]);
}
