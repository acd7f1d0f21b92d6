import type { ChannelInspection } from '../../core/connector.ts';
import type { MountedChannel } from '../app.ts';
import { channelTone } from './overview.ts';
import { badge, facts, hidden, html } from './page.ts';

/**
 * Linking and registration: the whatsapp-web QR code until the account is linked, and each
 * channel's fixes (Telegram's set-webhook) as buttons. Refreshes itself, so a scanned code
 * turns into "linked" without a reload.
 */
export function linkingSection(o: { channels: MountedChannel[]; inspections: Map<string, ChannelInspection>; canAct: boolean; csrf?: string; now?: number }): string {
  const now = o.now ?? Date.now();
  const shown = o.channels.filter((c) => (c.actions?.length ?? 0) > 0 || c.routes.some((r) => r.prefix === 'admin') || c.inspect);
  return html`<section id="linking" data-refresh="/admin/linking">
!${shown.length === 0 ? html`<p class="muted">No channel in this process needs linking or registration.</p>` : ''}
!${shown.map((c) => {
    const status = c.status();
    const { tone, word } = channelTone(status);
    const inspection = o.inspections.get(c.id);
    const qr = status.state === 'waiting' && c.routes.some((r) => r.prefix === 'admin' && r.path === '/qr');
    return html`<div class="card" id="channel-${c.id}" data-channel="${c.id}">
<h2>${c.id} <span class="muted">${c.kind}</span> !${badge(tone, word)}</h2>
!${status.detail ? html`<p!${status.ready ? ' class="muted"' : ' class="problem"'}>${status.detail}</p>` : ''}
!${qr ? html`<p>Open WhatsApp on the phone → Settings → Linked devices → Link a device, and scan:</p>
<img class="qr" src="/admin/channels/${encodeURIComponent(c.id)}/qr?t=${now}" alt="QR code to link the WhatsApp account of channel ${c.id}" width="320" height="320">` : ''}
!${inspection?.problem ? html`<p class="problem">${inspection.problem}</p>` : ''}
!${facts({ ...status.facts, ...inspection?.facts })}
!${o.canAct ? (c.actions ?? []).map((a) => html`<form method="post" action="/admin/channels/${encodeURIComponent(c.id)}/actions/${a.name}">
!${hidden('_csrf', o.csrf ?? '')}<p><button type="submit">${a.label}</button> <span class="muted">${a.description}</span></p></form>`).join('') : ''}
</div>`;
  })}
</section>`;
}
