import type { InboundRequest, RequestHead } from '../../../src/core/connector.ts';

/** Small readers over the framework-free request. */

export function header(req: RequestHead, name: string): string | undefined {
  const lower = name.toLowerCase();
  const direct = req.headers[lower];
  if (direct !== undefined) return direct;
  for (const [key, value] of Object.entries(req.headers)) {
    if (key.toLowerCase() === lower) return value;
  }
  return undefined;
}

/** The submitted fields, or undefined when the body is not a set of fields (a JSON array, text). */
export function bodyFields(req: InboundRequest): Record<string, unknown> | undefined {
  const body = req.body;
  // Bytes the HTTP layer could not parse (broken JSON, text/plain) are not an empty form.
  if (body === undefined && req.rawBody.length > 0) return undefined;
  if (body === undefined || body === null || body === '') return {};
  if (typeof body !== 'object' || Array.isArray(body)) return undefined;
  return body as Record<string, unknown>;
}

/** The browser's first language (`ru-RU,ru;q=0.9` → `ru`), so auto-replies can pick it. */
export function browserLocale(req: RequestHead): string | undefined {
  const first = header(req, 'accept-language')?.split(',')[0]?.split(';')[0]?.trim().toLowerCase();
  const lang = first?.split('-')[0];
  return lang && /^[a-z]{2,3}$/.test(lang) ? lang : undefined;
}
