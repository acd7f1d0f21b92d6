import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RequestHead, UploadedFile } from '../core/connector.ts';
import { isJsonType, parseForm, parseJson, type FlatFields, type Parsed } from '../core/safe-parse.ts';
import { parseMultipart } from './multipart.ts';

/**
 * From a Fastify request to the framework-free request routes see, in two steps: the head (as
 * soon as the headers are in) and the body (once its bytes were read and the route's guard let
 * them through). Nothing here can write to a prototype.
 */

const REFUSED = Symbol('refused query');
type QueryRecord = FlatFields & { [REFUSED]?: { field: string; error: string } };

/** Fastify's querystring parser: a null-prototype record; a poisoned key is remembered for `headOf` to refuse. */
export function parseQuery(text: string): QueryRecord {
  const parsed = parseForm(text);
  if (parsed.ok) return parsed.value;
  const refused: QueryRecord = Object.create(null) as QueryRecord;
  refused[REFUSED] = { field: parsed.field, error: parsed.error };
  return refused;
}

/** The request's head, or what is wrong with its query (a repeated or poisoned parameter). */
export function headOf(req: FastifyRequest): Parsed<RequestHead> {
  const raw = (req.query ?? {}) as QueryRecord;
  const refused = raw[REFUSED];
  if (refused) return { ok: false, field: `query parameter ${refused.field}`, error: refused.error };
  const query: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const key of Object.keys(raw)) {
    const value = raw[key]!;
    // Code that wants a token must never be handed a list (`?token=a&token=b`).
    if (Array.isArray(value)) return { ok: false, field: `query parameter ${key.slice(0, 100)}`, error: 'is given more than once' };
    query[key] = value;
  }
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const key of Object.keys(req.headers)) {
    const v = req.headers[key];
    if (v !== undefined) headers[key] = Array.isArray(v) ? v.join(', ') : v;
  }
  return { ok: true, value: { method: req.method, url: req.url, headers, query, ip: req.ip } };
}

export interface ParsedBody {
  body: unknown;
  files: UploadedFile[];
}

/** The body by its content type: JSON, a form, multipart; other types are left to the route as raw bytes. */
export async function parseBody(head: RequestHead, raw: Buffer): Promise<Parsed<ParsedBody>> {
  if (raw.length === 0) return { ok: true, value: { body: undefined, files: [] } };
  const type = head.headers['content-type'] ?? '';
  const essence = type.split(';')[0]!.trim().toLowerCase();
  if (essence === 'multipart/form-data') {
    const parsed = await parseMultipart(raw, type);
    return parsed.ok ? { ok: true, value: { body: parsed.value.fields, files: parsed.value.files } } : parsed;
  }
  if (essence === 'application/x-www-form-urlencoded') {
    const parsed = parseForm(raw.toString('utf8'));
    return parsed.ok ? { ok: true, value: { body: parsed.value, files: [] } } : parsed;
  }
  if (isJsonType(essence)) {
    const parsed = parseJson(raw.toString('utf8'));
    return parsed.ok ? { ok: true, value: { body: parsed.value, files: [] } } : parsed;
  }
  return { ok: true, value: { body: undefined, files: [] } };
}

/**
 * For the gateway's own Fastify routes (/admin and the console): the raw bytes every route reads
 * are parsed by the same safe parsers into `req.body` (and kept in `req.rawBody`); bad input is a
 * 400 naming the field. Registered as a preValidation hook of their scope.
 */
export async function parseOwnRouteBody(req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const raw = Buffer.isBuffer(req.body) ? req.body : undefined;
  const head = headOf(req);
  const parsed = head.ok ? await parseBody(head.value, raw ?? Buffer.alloc(0)) : head;
  if (!parsed.ok) {
    await reply.status(400).send({ error: 'bad_request', field: parsed.field, message: `${parsed.field} ${parsed.error}` });
    return;
  }
  req.rawBody = raw;
  req.body = raw ? parsed.value.body : req.body;
}
