import type { FastifyReply } from 'fastify';
import { html } from 'ghtml';
import type { Caller } from './access.ts';

/**
 * The console's page shell and small pieces every page uses. Every value goes through ghtml's
 * `html`, which escapes it; `!${…}` (no escaping) is used only for fragments built by `html`
 * itself. A message text, a channel's error or a helpdesk answer can never become markup.
 */

export { html };

export interface PageOptions {
  title: string;
  /** The nav entry to mark as current. */
  active?: NavEntry;
  caller?: Caller;
  /** For the logout form (and any form on the page). */
  csrf?: string;
  /** A line at the top: the result of the action just run. */
  notice?: { tone: 'ok' | 'bad'; text: string };
  body: string;
}

export type NavEntry = 'overview' | 'dead-letters' | 'rules' | 'conversations' | 'linking';

const NAV: [NavEntry, string, string][] = [
  ['overview', '/admin', 'Overview'],
  ['dead-letters', '/admin/dead-letters', 'Dead letters'],
  ['rules', '/admin/rules', 'Rules'],
  ['conversations', '/admin/conversations', 'Conversations'],
  ['linking', '/admin/linking', 'Linking'],
];

export function page(o: PageOptions): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${o.title} · Switchboard</title>
<link rel="stylesheet" href="/admin/assets/console.css">
<script src="/admin/assets/console.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header>
  <span class="brand">Switchboard</span>
  !${o.caller ? html`<nav aria-label="Console">
    <ul>!${NAV.map(([id, href, label]) => html`<li><a href="${href}"!${id === o.active ? ' aria-current="page"' : ''}>${label}</a></li>`)}</ul>
  </nav>
  <form method="post" action="/admin/logout" class="logout">
    <input type="hidden" name="_csrf" value="${o.csrf ?? ''}">
    <span class="role">${o.caller.role}</span> <button type="submit">Log out</button>
  </form>` : ''}
</header>
<main id="main" tabindex="-1">
<h1>${o.title}</h1>
!${o.notice ? html`<p class="notice ${o.notice.tone}" role="status">${o.notice.text}</p>` : ''}
!${o.body}
</main>
</body>
</html>`;
}

export function sendPage(reply: FastifyReply, body: string, status = 200): FastifyReply {
  return reply.status(status).header('content-type', 'text/html; charset=utf-8').send(body);
}

export type Tone = 'ok' | 'warn' | 'bad' | 'idle';

/** A state word with its tone; the word carries the meaning, the colour only helps. */
export function badge(tone: Tone, text: string): string {
  return html`<span class="badge ${tone}">${text}</span>`;
}

/** "3 min ago", with the exact time (UTC) on hover and for machines. */
export function ago(at: number | undefined, now = Date.now()): string {
  if (at === undefined || at <= 0) return html`<span class="muted">never</span>`;
  const iso = new Date(at).toISOString();
  return html`<time datetime="${iso}" title="${iso.replace('T', ' ').slice(0, 19)} UTC">${relative(now - at)}</time>`;
}

export function relative(ms: number): string {
  const future = ms < 0;
  const s = Math.round(Math.abs(ms) / 1000);
  const text = s < 5 ? 'just now' : s < 90 ? `${s} s` : s < 5400 ? `${Math.round(s / 60)} min` : s < 172_800 ? `${Math.round(s / 3600)} h` : `${Math.round(s / 86_400)} days`;
  if (text === 'just now') return text;
  return future ? `in ${text}` : `${text} ago`;
}

export function hidden(name: string, value: string): string {
  return html`<input type="hidden" name="${name}" value="${value}">`;
}

/** A link only to an http(s) address: a helpdesk URL from the config, never a `javascript:` one. */
export function externalLink(url: string | undefined, text: string): string {
  if (!url || !/^https?:\/\//i.test(url)) return html`${text}`;
  return html`<a href="${url}" rel="noopener noreferrer" target="_blank">${text}</a>`;
}

/** Key → value facts as a definition list. */
export function facts(entries: Record<string, string | number | undefined>): string {
  const shown = Object.entries(entries).filter(([, v]) => v !== undefined && v !== '');
  if (shown.length === 0) return '';
  return html`<dl class="facts">!${shown.map(([k, v]) => html`<div><dt>${k}</dt><dd>${String(v)}</dd></div>`)}</dl>`;
}
