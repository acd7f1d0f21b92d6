import type { ConversationEvent, Link } from '../../core/jobs.ts';
import { ago, externalLink, facts, html } from './page.ts';

/** Find a conversation by customer, chat or ticket id, and see its path. */

const KIND_WORDS: Record<ConversationEvent['kind'], string> = {
  accepted: 'Accepted from the customer',
  ticket: 'Delivered to the helpdesk',
  reply: 'Agent\'s reply sent to the customer',
  autoreply: 'Automatic reply',
  note: 'Private note for the agents',
  question: 'Rating question sent to the customer',
  rating: 'Rating from the customer',
  failed: 'Failed',
};

export function searchForm(q: string): string {
  return html`<form method="get" action="/admin/conversations" class="row" role="search">
  <div><label for="q">Customer, chat or ticket id</label>
  <input id="q" type="search" name="q" value="${q}" placeholder="e.g. 777001, @azamat_uz, +998901234567, player@example.com, 1234" maxlength="200"></div>
  <div><button type="submit">Find</button></div>
</form>`;
}

export interface FoundConversation {
  key: string;
  link?: Link;
  events: ConversationEvent[];
}

export function searchResults(q: string, found: FoundConversation[], now = Date.now()): string {
  if (q === '') return html`<p class="muted">The path of each conversation is kept for 30 days after its last event.</p>`;
  if (found.length === 0) return html`<p>No conversation found for “${q}”.</p>`;
  return found.map((c) => conversationPath(c, now)).join('');
}

function conversationPath(c: FoundConversation, now = Date.now()): string {
  const last = c.events.at(-1);
  const sender = c.link?.conversation.sender;
  const ticketEvent = [...c.events].reverse().find((e) => e.ticketId && e.ticketUrl);
  return html`<section class="card" data-conversation="${c.key}">
<h2>${c.key}</h2>
!${facts({
    customer: sender ? [sender.displayName, sender.username ? `@${sender.username}` : undefined, sender.phone, sender.email, sender.externalId].filter(Boolean).join(' · ') : undefined,
    ticket: c.link ? `#${c.link.ticketId}` : undefined,
    'last event': last ? new Date(last.at).toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : undefined,
  })}
!${c.link && ticketEvent?.ticketId === c.link.ticketId ? html`<p>!${externalLink(ticketEvent.ticketUrl, `Open ticket #${c.link.ticketId} in the helpdesk`)}</p>` : ''}
!${c.events.length === 0 ? html`<p class="muted">No recorded events (older than 30 days, or from before this gateway kept them).</p>` : html`<ol class="path">
!${c.events.map((e) => html`<li data-event="${e.kind}">!${ago(e.at, now)} — <strong>${KIND_WORDS[e.kind]}</strong>!${e.ticketId ? html` · !${externalLink(e.ticketUrl, `ticket #${e.ticketId}`)}` : ''}!${e.text ? html`<div class="verbatim">${e.text}</div>` : ''}</li>`)}
</ol>`}
</section>`;
}
