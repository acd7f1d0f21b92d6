import type { NoticePayload } from '../../../src/kit/notice/payload.ts';

/** Slack's mrkdwn treats &, < and > as control characters (<!channel> pings everyone): escape the customer's words. */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function ticketLink(p: NoticePayload): string {
  const label = `Ticket #${escapeMrkdwn(p.ticket.id)}`;
  // A URL with | or > would break out of the link syntax.
  return p.ticket.url && !/[|<>\s]/.test(p.ticket.url) ? `<${p.ticket.url}|${label}>` : label;
}

/** The alert: one line that works as a phone notification, then the facts a team needs to pick it up. */
/** A Block Kit block, loosely: Slack validates the rest. */
export interface SlackBlock {
  type: string;
  [key: string]: unknown;
}

export function slackMessage(p: NoticePayload): { text: string; blocks: SlackBlock[] } {
  const priority = p.priority ?? 'no priority';
  const text = `[${priority}] Ticket #${p.ticket.id}: ${p.headline ?? p.rules.join(', ')}`;
  const field = (title: string, value: string) => ({ type: 'mrkdwn', text: `*${title}*\n${escapeMrkdwn(value || '—')}` });
  const what = p.headline ? `: ${escapeMrkdwn(p.headline)}` : ` needs attention (${escapeMrkdwn(priority)})`;
  const blocks: SlackBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: `:rotating_light: *${ticketLink(p)}*${what}` } },
    {
      type: 'section',
      fields: [
        ...(p.rules.length > 0 ? [field('Rules', p.rules.join(', '))] : []),
        field('Priority', priority),
        field('Channel', `${p.channel.id} (${p.channel.kind})`),
        field('Tags', p.tags.join(', ')),
      ],
    },
  ];
  if (p.excerpt) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `>${escapeMrkdwn(p.excerpt)}` } });
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `Switchboard${p.sender ? ` · from ${escapeMrkdwn(p.sender)}` : ''}` }] });
  return { text, blocks };
}
