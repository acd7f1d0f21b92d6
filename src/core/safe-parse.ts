/**
 * Turning bytes from outside into values that no key can poison. Every parser in the gateway
 * (JSON, form, query, multipart field names) goes through here:
 * - objects built from keys (forms, queries) have no prototype, so no key can reach one;
 * - `__proto__`, `constructor` and `prototype` are refused as keys anywhere, so later code that
 *   merges or copies a value cannot be turned against `Object.prototype` either;
 * - JSON nests at most MAX_JSON_DEPTH levels (every later walk over it stays shallow).
 * A refusal names the field, so the sender gets a 400 that says what to fix.
 */

export const MAX_JSON_DEPTH = 64;

export type Parsed<T> = { ok: true; value: T } | { ok: false; field: string; error: string };

/** Keys that could reach a prototype when a value is later merged or assigned. */
const POISON_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** A form key's parts: `comment[ticket_id]` and `a.b` are checked part by part. */
const KEY_PARTS = /[^[\].]+/g;
/** Field names are echoed in errors; a hostile 1 MB name is not. */
const SHOWN_FIELD_CHARS = 100;

export function showField(path: readonly (string | number)[]): string {
  const text = path.length === 0 ? 'body' : path.join('.');
  return text.length > SHOWN_FIELD_CHARS ? `${text.slice(0, SHOWN_FIELD_CHARS)}…` : text;
}

/** The first part of a flat key (`__proto__[x]`, `a.constructor`) that may not be a key, if any. */
export function poisonedKey(key: string): string | undefined {
  if (POISON_KEYS.has(key)) return key;
  if (!key.includes('[') && !key.includes('.')) return undefined;
  for (const [part] of key.matchAll(KEY_PARTS)) if (POISON_KEYS.has(part)) return part;
  return undefined;
}

const refusedKey = (path: readonly (string | number)[]): { ok: false; field: string; error: string } =>
  ({ ok: false, field: showField(path), error: 'is a key that is not accepted (__proto__, constructor and prototype never are)' });

/** JSON.parse, then one walk that refuses poisoned keys and nesting deeper than `maxDepth`. */
export function parseJson(text: string, maxDepth = MAX_JSON_DEPTH): Parsed<unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, field: 'body', error: `is not valid JSON: ${(err as Error).message.slice(0, 200)}` };
  }
  const problem = checkTree(value, maxDepth);
  return problem ?? { ok: true, value };
}

/**
 * Checks an already parsed tree. Recursion is safe: it stops at `maxDepth`, so even a value
 * nested 10,000 levels deep costs `maxDepth` frames.
 */
export function checkTree(value: unknown, maxDepth = MAX_JSON_DEPTH): { ok: false; field: string; error: string } | undefined {
  const path: (string | number)[] = [];
  const walk = (v: unknown, depth: number): { ok: false; field: string; error: string } | undefined => {
    if (typeof v !== 'object' || v === null) return undefined;
    if (depth >= maxDepth) return { ok: false, field: showField(path), error: `nests deeper than ${maxDepth} levels` };
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        path.push(i);
        const p = walk(v[i], depth + 1);
        path.pop();
        if (p) return p;
      }
      return undefined;
    }
    for (const key of Object.keys(v)) {
      path.push(key);
      const p = POISON_KEYS.has(key) ? refusedKey(path) : walk((v as Record<string, unknown>)[key], depth + 1);
      path.pop();
      if (p) return p;
    }
    return undefined;
  };
  return walk(value, 0);
}

export type FlatFields = Record<string, string | string[]>;

/** A null-prototype record to collect fields into. */
export function emptyFields(): FlatFields {
  return Object.create(null) as FlatFields;
}

/** Adds one field; a repeated name becomes a list, so code that wants one value can say "give one". */
export function addField(out: FlatFields, key: string, value: string): Parsed<FlatFields> | undefined {
  const bad = poisonedKey(key);
  if (bad !== undefined) return refusedKey([key]);
  const existing = out[key];
  if (existing === undefined) out[key] = value;
  else if (Array.isArray(existing)) existing.push(value);
  else out[key] = [existing, value];
  return undefined;
}

/** `application/x-www-form-urlencoded` (and query strings) into a null-prototype record. */
export function parseForm(text: string): Parsed<FlatFields> {
  const out = emptyFields();
  for (const [key, value] of new URLSearchParams(text)) {
    const refused = addField(out, key, value);
    if (refused) return refused;
  }
  return { ok: true, value: out };
}

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `application/json` and the `+json` types (`application/vnd.api+json`); `essence` is the type without parameters. */
export function isJsonType(essence: string): boolean {
  return essence === 'application/json' || (essence.startsWith('application/') && essence.endsWith('+json'));
}

type ParsedRequest = { headers: Record<string, string | undefined>; rawBody: Buffer; body: unknown };
const essenceOf = (req: ParsedRequest): string => (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();

/**
 * The body as JSON: what the HTTP layer already parsed for a JSON content type, else the raw
 * bytes parsed here (for a sender that labels its JSON otherwise).
 */
export function jsonBody(req: ParsedRequest): Parsed<unknown> {
  if (isJsonType(essenceOf(req)) && req.body !== undefined) return { ok: true, value: req.body };
  if (req.rawBody.length === 0) return { ok: false, field: 'body', error: 'is empty' };
  return parseJson(req.rawBody.toString('utf8'));
}

/** The body as form fields: what the HTTP layer already parsed for a form content type, else the raw bytes parsed here. */
export function formBody(req: ParsedRequest): Parsed<FlatFields> {
  if (essenceOf(req) === 'application/x-www-form-urlencoded' && isRecord(req.body)) return { ok: true, value: req.body as FlatFields };
  return parseForm(req.rawBody.toString('utf8'));
}
