import type { ChannelInspection, ChannelStatus } from '../../core/connector.ts';
import type { ErrorNote } from '../../runtime/activity.ts';
import type { QueuedByClass } from '../../runtime/classes.ts';
import type { RuntimeStats } from '../../runtime/runtime.ts';
import { ago, badge, facts, html, relative, type Tone } from './page.ts';
import { plainWords } from './plain-words.ts';
import type { ProcessReport } from './report.ts';

/**
 * The overview: the queue, then per process its channels and the helpdesk as it saw them.
 * The whole section refreshes itself (`data-refresh`); the page works without script too.
 */

export interface OverviewData {
  stats?: RuntimeStats;
  statsError?: string;
  processes: ProcessReport[];
  /** Telegram's webhook registration and the like, for this process's channels. */
  inspections: Map<string, ChannelInspection>;
  /** Channels with fixes on the Linking page. */
  fixable: Set<string>;
  helpdesk: { kind: string; requestsPerMinute?: number };
  canAct: boolean;
  csrf?: string;
}

export function overviewSection(d: OverviewData, now = Date.now()): string {
  const several = d.processes.length > 1;
  return html`<section id="overview" data-refresh="/admin">
<p class="updated">Updated ${new Date(now).toISOString().slice(11, 19)} UTC · refreshes every 5 s</p>
<h2>Queue</h2>
!${queueCards(d, now)}
!${d.processes.map((p) => html`
!${several ? html`<h2 data-process="${p.id}">Process ${p.name}${p === d.processes[0] ? ' (this one)' : ''} <span class="muted">(${p.role}, up ${relative(now - p.startedAt).replace(' ago', '')}, report ${relative(now - p.at)})</span></h2>` : ''}
<h2>Channels</h2>
!${channelTable(p, d, now)}
<h2>Helpdesk</h2>
!${helpdeskPanel(p, d, now)}`)}
</section>`;
}

function queueCards(d: OverviewData, now: number): string {
  if (!d.stats) return html`<p class="problem">The store does not answer: ${d.statsError ?? 'unknown error'}</p>`;
  const s = d.stats;
  const { queued, dead, inFlight, oldestQueuedMs, queuedByClass } = s;
  const retries = d.processes.reduce((n, p) => n + p.activity.retriesLastHour, 0);
  const lastRetry = d.processes.map((p) => p.activity.lastRetry).filter((r) => r !== undefined).sort((a, b) => b.at - a.at)[0];
  return html`<div class="cards">
  <div class="card"><div class="big">${queued}</div>waiting</div>
  !${classCard(queuedByClass)}
  <div class="card"><div class="big">${oldestQueuedMs > 0 ? relative(oldestQueuedMs).replace(' ago', '') : '—'}</div>oldest waiting${oldestQueuedMs > 0 ? '' : ' (none)'}</div>
  <div class="card"><div class="big">${inFlight}</div>being delivered${d.processes.length > 1 ? ' (this process)' : ''}</div>
  <div class="card"><div class="big">${retries}</div>retries in the last hour!${lastRetry ? html`<br><span class="muted">last: ${lastRetry.target}, ${relative(now - lastRetry.at)}: ${plainWords(lastRetry.text, lastRetry.status)}</span>` : ''}</div>
  <div class="card"><div class="big">!${dead > 0 ? badge('bad', String(dead)) : html`${dead}`}</div><a href="/admin/dead-letters">dead letters</a></div>
</div>`;
}

/** The waiting jobs per priority; urgent stands out while any waits. */
function classCard(q: QueuedByClass): string {
  const rows = [['urgent', 'urgent'], ['high', 'high'], ['normal', 'normal'], ['throttled', 'throttled'], ['unclassified', 'not yet sorted']] as const;
  return html`<div class="card!${q.urgent > 0 ? ' urgent' : ''}" data-queue-classes>waiting by priority
  <dl class="classes">!${rows.map(([key, name]) => html`<div data-class="${key}"><dt>${name}</dt><dd>!${key === 'urgent' && q.urgent > 0 ? badge('bad', String(q.urgent)) : html`${q[key]}`}</dd></div>`)}</dl>
</div>`;
}

export function channelTone(s: ChannelStatus): { tone: Tone; word: string } {
  const word = s.state ?? (s.ready ? 'receiving' : 'error');
  if (word === 'standby' || word === 'stopped') return { tone: 'idle', word };
  if (word === 'waiting' || word === 'connecting') return { tone: 'warn', word };
  return { tone: s.ready ? 'ok' : 'bad', word };
}

function channelTable(p: ProcessReport, d: OverviewData, now: number): string {
  if (p.channels.length === 0) return html`<p class="muted">No channels run in this process (${p.role}).</p>`;
  return html`<div class="scroll"><table class="stack">
<thead><tr><th scope="col">Channel</th><th scope="col">State</th><th scope="col">Last in</th><th scope="col">Last out</th><th scope="col">Last error</th></tr></thead>
<tbody>!${p.channels.map((c) => {
    const act = p.activity.channels[c.id] ?? {};
    const inspection = p === d.processes[0] ? d.inspections.get(c.id) : undefined;
    const { tone: own, word } = channelTone(c.status);
    // Receiving, but the vendor does not send here (a webhook registered elsewhere): needs a look.
    const tone = own === 'ok' && inspection?.problem ? 'warn' : own;
    return html`<tr data-channel="${c.id}">
  <th scope="row">${c.id}<br><span class="muted">${c.kind}</span></th>
  <td>!${badge(tone, word)}!${!c.status.ready && c.status.detail ? html`<div class="problem">${c.status.detail}</div>` : c.status.detail ? html`<div class="muted">${c.status.detail}</div>` : ''}
    !${inspection?.problem ? html`<div class="problem">${inspection.problem}!${d.fixable.has(c.id) && d.canAct ? html` — <a href="/admin/linking#channel-${c.id}">fix it</a>` : ''}</div>` : ''}
    !${facts({ ...c.status.facts, ...inspection?.facts, ...(c.routes.length > 0 ? { route: c.routes.join(', ') } : {}) })}</td>
  <td data-label="Last in">!${ago(act.lastInAt, now)}</td>
  <td data-label="Last out">!${ago(act.lastOutAt, now)}</td>
  <td data-label="Last error">!${errorNote(act.lastError, now)}</td>
</tr>`;
  })}</tbody>
</table></div>`;
}

export function errorNote(e: ErrorNote | undefined, now = Date.now()): string {
  if (!e) return html`<span class="muted">none</span>`;
  return html`<div><strong>${plainWords(e.text, e.status)}</strong> · ${relative(now - e.at)}</div><div class="verbatim">${e.text}</div>`;
}

function helpdeskPanel(p: ProcessReport, d: OverviewData, now: number): string {
  const h = p.activity.helpdesk;
  const failing = h.lastError !== undefined && (h.lastOkAt === undefined || h.lastError.at > h.lastOkAt);
  const state = failing
    ? badge('bad', h.lastError!.status === 401 || h.lastError!.status === 403 ? 'refusing credentials' : 'failing')
    : h.lastOkAt !== undefined ? badge('ok', 'reachable') : badge('idle', 'no requests yet');
  const budget = h.budget;
  const paused = h.pausedUntil !== undefined && h.pausedUntil > now;
  return html`<div class="card">
  <p>${d.helpdesk.kind}: !${state} · last good answer !${ago(h.lastOkAt, now)}</p>
  !${failing ? errorNote(h.lastError, now) : ''}
  !${facts({
    'rate limit (configured)': d.helpdesk.requestsPerMinute === undefined ? 'the default for this helpdesk' : `${d.helpdesk.requestsPerMinute} per minute`,
    'budget left': budget?.remaining !== undefined ? `${budget.remaining}${budget.limit !== undefined ? ` of ${budget.limit}` : ''} (as of ${relative(now - budget.at)})` : 'the helpdesk has not said yet',
    'paused': paused ? `asked to wait ${relative(h.pausedUntil! - now).replace('in ', '')} more` : undefined,
  })}
  !${p === d.processes[0] && d.canAct ? html`<form method="post" action="/admin/helpdesk/check" class="inline"><input type="hidden" name="_csrf" value="${d.csrf ?? ''}"><button type="submit">Check the credentials now</button></form>` : ''}
</div>`;
}
