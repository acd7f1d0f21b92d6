import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Csat, LinkView } from '../core/csat/csat.ts';
import { FEEDBACK_LIMIT } from '../core/csat/csat.ts';
import { textsFor } from '../core/csat/texts.ts';
import type { CsatOptions } from '../core/csat/options.ts';
import { MAX_SCORE } from '../core/csat/answer.ts';
import { escapeHtml } from '../core/html.ts';
import { parseOwnRouteBody } from './inbound.ts';

/**
 * The small page behind the rating links in emails: `GET /csat/{token}` shows the chosen rating
 * with a button (and, for a low one, a comment box); only `POST` records it. Mail scanners and
 * link previews fetch links with GET, so they never vote.
 */

/** A comment of FEEDBACK_LIMIT characters in UTF-8, form-encoded, with room to spare. */
const BODY_LIMIT = 16 * 1024;

const HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  // The token is in the URL: it must not travel on to other sites or into search engines.
  'referrer-policy': 'no-referrer',
  'x-robots-tag': 'noindex, nofollow',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

const STYLE = 'body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#222}'
  + '.stars{font-size:2.2rem;letter-spacing:.2rem;color:#e8a400}textarea{width:100%;min-height:7rem;font:inherit}'
  + 'button{font:inherit;padding:.6rem 1.4rem;margin-top:1rem}';

function page(language: string, title: string, body: string): string {
  return `<!doctype html><html lang="${escapeHtml(language)}"><head><meta charset="utf-8">`
    + '<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">'
    + `<title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

const stars = (score: number) => `<p class="stars" aria-label="${score}/${MAX_SCORE}">${'★'.repeat(score)}${'☆'.repeat(MAX_SCORE - score)}</p>`;

function render(view: LinkView, texts: CsatOptions['texts'], done: boolean): { status: number; html: string } {
  const t = textsFor(view.language, texts).page;
  if (!view.ok) {
    const message = view.problem === 'expired' ? t.expired : view.problem === 'tooLong' ? `${t.tooLong} (comment: at most ${FEEDBACK_LIMIT} characters)` : t.invalid;
    return { status: view.status, html: page(view.language, t.title, `<p>${escapeHtml(message)}</p>`) };
  }
  if (view.already) return { status: 200, html: page(view.language, t.title, `<p>${escapeHtml(t.already)}</p>`) };
  if (done) return { status: 200, html: page(view.language, t.title, `${stars(view.score)}<p>${escapeHtml(t.recorded)}</p>`) };
  const comment = view.askComment
    ? `<p><label for="comment">${escapeHtml(t.comment)}</label></p><textarea id="comment" name="comment" maxlength="${FEEDBACK_LIMIT}"></textarea>`
    : '';
  return { status: 200, html: page(view.language, t.title, `${stars(view.score)}<form method="post">${comment}<button type="submit">${escapeHtml(t.confirm)}</button></form>`) };
}

function comment(body: unknown): string {
  if (typeof body !== 'object' || body === null || !Object.hasOwn(body, 'comment')) return '';
  const value = (body as Record<string, unknown>).comment;
  return typeof value === 'string' ? value : '';
}

export function registerCsatPage(app: FastifyInstance, csat: Csat, texts: CsatOptions['texts']): void {
  const send = (reply: FastifyReply, out: { status: number; html: string }) => reply.status(out.status).headers(HEADERS).send(out.html);
  app.get<{ Params: { token: string } }>('/csat/:token', async (req, reply) => send(reply, render(await csat.viewLink(req.params.token), texts, false)));
  // The form is parsed by the gateway's safe parsers (every route reads its body raw).
  app.post<{ Params: { token: string } }>('/csat/:token', { bodyLimit: BODY_LIMIT, preValidation: parseOwnRouteBody }, async (req, reply) =>
    send(reply, render(await csat.answerLink(req.params.token, comment(req.body)), texts, true)));
}
