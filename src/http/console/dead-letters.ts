import { z } from 'zod';
import type { DeadLetter } from '../../core/jobs.ts';
import { maskPersonalData } from '../../core/redact.ts';
import { ago, badge, hidden, html } from './page.ts';
import { plainWords } from './plain-words.ts';

/** The dead-letter page: filters, the verbatim error, the (masked) message, replay and drop. */

export const AGES = {
  any: { label: 'any age', test: () => true },
  '1h': { label: 'last hour', test: (age: number) => age <= 3_600_000 },
  '24h': { label: 'last 24 hours', test: (age: number) => age <= 86_400_000 },
  '7d': { label: 'last 7 days', test: (age: number) => age <= 7 * 86_400_000 },
  'over1d': { label: 'older than a day', test: (age: number) => age > 86_400_000 },
  'over7d': { label: 'older than 7 days', test: (age: number) => age > 7 * 86_400_000 },
} as const;

export const DeadLetterFilter = z.object({
  channel: z.string().max(200).default(''),
  error: z.string().max(500).default(''),
  age: z.enum(Object.keys(AGES) as [keyof typeof AGES, ...(keyof typeof AGES)[]]).default('any'),
});
export type DeadLetterFilter = z.infer<typeof DeadLetterFilter>;

/** How many dead letters the page reads to filter (newest first). */
export const SCAN_LIMIT = 1000;

/** The channel a dead letter belongs to: the message's, the reply's target, or its conversation's. */
export function channelOf(d: DeadLetter): string {
  if (d.payload.kind === 'inbound') return d.payload.message.channel.id;
  if (d.target.startsWith('channel:')) return d.target.slice('channel:'.length);
  const lane = /^(?:in|out):([^:]+):/.exec(d.lane);
  return lane ? lane[1]! : '';
}

export function matches(d: DeadLetter, f: DeadLetterFilter, now = Date.now()): boolean {
  if (f.channel && channelOf(d) !== f.channel) return false;
  if (f.error) {
    const needle = f.error.toLowerCase();
    const hay = `${d.error}\n${d.detail ?? ''}\n${d.status ?? ''}`.toLowerCase();
    if (!hay.includes(needle)) return false;
  }
  return AGES[f.age].test(now - d.failedAt);
}

/** What the dead letter carried, as a person reads it: personal data masked. */
export function messageText(d: DeadLetter): string {
  const p = d.payload;
  switch (p.kind) {
    case 'inbound':
      return p.message.text;
    case 'reply':
      return p.reply.text;
    case 'autoreply':
    case 'note':
      return p.text;
    case 'notify':
      return p.message.text;
    case 'sync':
      return `look for agent replies on ticket ${p.ticketId}`;
    case 'tag':
      return `add the tags ${p.tags.join(', ')} to ticket ${p.ticketId}`;
    case 'notice':
      return p.notice.headline ?? p.notice.text;
    case 'csat':
      return p.csat.step === 'ask' ? `ask for a rating of ticket ${p.csat.ticketId}` : p.csat.step === 'rate' ? `write the rating ${p.csat.score}/5` : `say "${p.csat.what}" after the rating`;
    case 'channel':
      return `${p.channelId}: work put off until the sends to conversation ${p.conversation} were done`;
  }
}

export function deadLetterList(o: {
  items: DeadLetter[];
  total: number;
  filter: DeadLetterFilter;
  channels: string[];
  canAct: boolean;
  csrf?: string;
  now?: number;
}): string {
  const now = o.now ?? Date.now();
  const f = o.filter;
  const filterForm = html`<form method="get" action="/admin/dead-letters" class="row" role="search">
  <div><label for="f-channel">Channel</label><select id="f-channel" name="channel"><option value="">all channels</option>!${o.channels.map((c) => html`<option value="${c}"!${c === f.channel ? ' selected' : ''}>${c}</option>`)}</select></div>
  <div><label for="f-error">Error contains</label><input id="f-error" type="search" name="error" value="${f.error}" placeholder="e.g. 422, RecordInvalid, credentials"></div>
  <div><label for="f-age">Failed</label><select id="f-age" name="age">!${Object.entries(AGES).map(([k, a]) => html`<option value="${k}"!${k === f.age ? ' selected' : ''}>${a.label}</option>`)}</select></div>
  <div><button type="submit">Filter</button></div>
</form>`;
  const summary = html`<p>${o.items.length} shown of ${o.total} dead letter(s).</p>`;
  if (o.items.length === 0) return filterForm + summary;
  const filterFields = hidden('channel', f.channel) + hidden('age', f.age) + hidden('error', f.error);
  return html`!${filterForm}!${summary}
<form method="post" action="/admin/dead-letters/replay" id="dlq">
!${hidden('_csrf', o.csrf ?? '')}!${filterFields}
!${o.canAct ? html`<div class="row">
  <div><button type="submit">Replay selected</button>
  <button type="submit" name="scope" value="matching">Replay all ${o.items.length} shown</button>
  <button type="submit" formaction="/admin/dead-letters/drop" class="danger">Drop selected…</button>
  <button type="submit" formaction="/admin/dead-letters/drop" name="scope" value="matching" class="danger">Drop all ${o.items.length} shown…</button></div>
</div>` : ''}
<div class="scroll"><table class="stack">
<thead><tr>!${o.canAct ? html`<th scope="col"><input type="checkbox" data-select-all aria-label="Select all shown"></th>` : ''}<th scope="col">Failed</th><th scope="col">What</th><th scope="col">Error</th><th scope="col">Message</th></tr></thead>
<tbody>!${o.items.map((d) => html`<tr data-dead-letter="${d.id}">
  !${o.canAct ? html`<td><input type="checkbox" name="id" value="${d.id}" aria-label="Select ${d.id}"></td>` : ''}
  <td data-label="Failed">!${ago(d.failedAt, now)}<br><span class="muted">${d.attempts} attempt(s)</span></td>
  <td>${d.payload.kind} · ${channelOf(d) || '—'}<br><span class="muted">to ${d.target}</span><br><code>${d.id}</code>
    !${o.canAct ? html`<br><button type="submit" name="one" value="${d.id}">Replay</button>` : ''}</td>
  <td><strong>${plainWords(d.error, d.status)}</strong>!${d.status ? html` !${badge('bad', String(d.status))}` : ''}
    <div class="verbatim">${d.error}</div>
    !${d.detail ? html`<details><summary>The remote side's answer</summary><pre>${d.detail}</pre></details>` : ''}</td>
  <td data-label="Message"><div class="verbatim">${maskPersonalData(messageText(d))}</div></td>
</tr>`)}</tbody>
</table></div>
</form>`;
}

export function dropConfirmation(o: { items: DeadLetter[]; filter: DeadLetterFilter; csrf?: string }): string {
  const back = `/admin/dead-letters?${new URLSearchParams({ channel: o.filter.channel, error: o.filter.error, age: o.filter.age }).toString()}`;
  return html`<p class="problem">Drop ${o.items.length} dead letter(s) for good? They cannot be replayed afterwards.</p>
<ul>!${o.items.slice(0, 50).map((d) => html`<li><code>${d.id}</code> ${d.payload.kind} · ${channelOf(d)}: ${d.error.slice(0, 200)}</li>`)}!${o.items.length > 50 ? html`<li>… and ${o.items.length - 50} more</li>` : ''}</ul>
<form method="post" action="/admin/dead-letters/drop">
!${hidden('_csrf', o.csrf ?? '')}!${hidden('confirm', 'yes')}!${hidden('channel', o.filter.channel)}!${hidden('age', o.filter.age)}!${hidden('error', o.filter.error)}
!${o.items.map((d) => hidden('id', d.id))}
<button type="submit" class="danger">Drop ${o.items.length} for good</button> <a href="${back}">Cancel</a>
</form>`;
}
