import type { InboundRequest } from '../../core/connector.ts';
import { emptyFields, formBody, isRecord, jsonBody, parseJson, type FlatFields } from '../../core/safe-parse.ts';

export type Decoded = { ok: true; body: unknown } | { ok: false; error: string };

/**
 * Form fields as a record; a repeated field (`user[]=a&user[]=b`) becomes a list under its
 * name without the brackets, so both PHP-style and plain repeats read as arrays.
 */
export function withLists(flat: FlatFields): FlatFields {
  const out = emptyFields();
  for (const [rawKey, value] of Object.entries(flat)) {
    const key = rawKey.endsWith('[]') ? rawKey.slice(0, -2) : rawKey;
    const list = rawKey.endsWith('[]') || Array.isArray(value);
    const existing = out[key];
    const values = Array.isArray(value) ? value : [value];
    out[key] = existing === undefined ? (list ? values : value) : [...(Array.isArray(existing) ? existing : [existing]), ...values];
  }
  return out;
}

const failed = (p: { field: string; error: string }, where = ''): Decoded => ({ ok: false, error: `${where}${p.field} ${p.error}` });

/**
 * Decodes the raw bytes (the truth the signature covered) as JSON or a form, by option or
 * Content-Type, into values no key can poison.
 */
export function decodeBody(req: InboundRequest, format: 'auto' | 'json' | 'form', jsonField?: string): Decoded {
  const text = req.rawBody.toString('utf8');
  if (text.trim() === '') return { ok: false, error: 'empty body' };
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  const asJson = format === 'json' || (format === 'auto' && (type.includes('json') || (!type.includes('form') && /^\s*[[{]/.test(text))));
  // What the HTTP layer already parsed (and checked) is not parsed again.
  const parsed = asJson ? jsonBody(req) : formBody(req);
  if (!parsed.ok) return failed(parsed);
  const body = asJson ? parsed.value : withLists(parsed.value as FlatFields);
  if (jsonField === undefined) return { ok: true, body };
  const inner = isRecord(body) && Object.hasOwn(body, jsonField) ? body[jsonField] : undefined;
  if (typeof inner !== 'string') return { ok: false, error: `field '${jsonField}' with a JSON document is missing` };
  const doc = parseJson(inner);
  return doc.ok ? { ok: true, body: doc.value } : failed(doc, `field '${jsonField}': `);
}
