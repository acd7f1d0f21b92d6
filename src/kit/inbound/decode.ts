import type { InboundRequest } from '../../core/connector.ts';

export type Decoded = { ok: true; body: unknown } | { ok: false; error: string };

/**
 * A form body as a record; a repeated field (`user[]=a&user[]=b`) becomes a list under its
 * name without the brackets, so both PHP-style and plain repeats read as arrays.
 */
export function parseForm(raw: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [rawKey, value] of new URLSearchParams(raw)) {
    const list = rawKey.endsWith('[]');
    const key = list ? rawKey.slice(0, -2) : rawKey;
    const existing = out[key];
    if (existing === undefined) out[key] = list ? [value] : value;
    else out[key] = [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return out;
}

/** Decodes the raw bytes (the truth the signature covered) as JSON or a form, by option or Content-Type. */
export function decodeBody(req: InboundRequest, format: 'auto' | 'json' | 'form', jsonField?: string): Decoded {
  const text = req.rawBody.toString('utf8');
  if (text.trim() === '') return { ok: false, error: 'empty body' };
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  const asJson = format === 'json' || (format === 'auto' && (type.includes('json') || (!type.includes('form') && /^\s*[[{]/.test(text))));
  let body: unknown;
  if (asJson) {
    try {
      body = JSON.parse(text);
    } catch (err) {
      return { ok: false, error: `invalid JSON body: ${(err as Error).message}` };
    }
  } else {
    body = parseForm(text);
  }
  if (jsonField === undefined) return { ok: true, body };
  const inner = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[jsonField] : undefined;
  if (typeof inner !== 'string') return { ok: false, error: `field '${jsonField}' with a JSON document is missing` };
  try {
    return { ok: true, body: JSON.parse(inner) };
  } catch (err) {
    return { ok: false, error: `field '${jsonField}' is not valid JSON: ${(err as Error).message}` };
  }
}
