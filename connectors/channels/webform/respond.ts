import type { HttpResponse, RequestHead } from '../../../src/core/connector.ts';
import { header } from './request.ts';

/**
 * Answers in the caller's language: JSON for scripts (a JSON body, or `Accept: application/json`),
 * a redirect or a small HTML page for a classic HTML form post.
 */

export interface SuccessBody {
  ok: true;
  /** The message id the gateway assigned. */
  id: string;
  submissionId: string;
  message: string;
  duplicate?: true;
}

export interface ErrorBody {
  error: string;
  message: string;
  /** Field name → what is wrong with it. */
  fields?: Record<string, string>;
  retryAfterSec?: number;
}

export interface Responder {
  success(body: SuccessBody): HttpResponse;
  failure(status: number, body: ErrorBody, headers?: Record<string, string>): HttpResponse;
}

export interface ResponderOptions {
  redirect?: string;
  /** Headers on every answer (CORS). */
  headers: Record<string, string>;
  /** Field name → label, for the HTML error page. */
  labels: Record<string, string>;
}

export function responder(req: RequestHead, opts: ResponderOptions): Responder {
  if (!isClassicFormPost(req)) {
    return {
      success: (body) => ({ status: 200, body, headers: opts.headers }),
      failure: (status, body, headers) => ({ status, body, headers: { ...opts.headers, ...headers } }),
    };
  }
  return {
    success: (body) =>
      opts.redirect
        ? { status: 303, headers: { ...opts.headers, location: opts.redirect } }
        : html(200, opts.headers, body.message, []),
    failure: (status, body, headers) => {
      const lines = Object.entries(body.fields ?? {}).map(([name, what]) => `${opts.labels[name] ?? name}: ${what}`);
      return html(status, { ...opts.headers, ...headers }, body.message, lines);
    },
  };
}

function isClassicFormPost(req: RequestHead): boolean {
  const type = header(req, 'content-type')?.toLowerCase() ?? '';
  const formEncoded = type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data');
  return formEncoded && !(header(req, 'accept')?.toLowerCase().includes('application/json') ?? false);
}

function html(status: number, headers: Record<string, string>, title: string, lines: string[]): HttpResponse {
  const items = lines.length ? `<ul>${lines.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul><p>Please go back, correct the form and send it again.</p>` : '';
  const body = `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
    `<title>${escapeHtml(title)}</title></head><body><p>${escapeHtml(title)}</p>${items}</body></html>`;
  return { status, body, headers: { ...headers, 'content-type': 'text/html; charset=utf-8' } };
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
