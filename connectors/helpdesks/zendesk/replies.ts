import type { AgentReply } from '../../../src/core/connector.ts';
import { htmlToPlainText } from '../../../src/kit/html-text.ts';
import { CommentsPage, nextPageOf, type ZdComment } from './api.ts';
import type { ZendeskHttp } from './http.ts';

const AGENT_ROLES = new Set(['agent', 'admin']);
const MAX_PAGES = 100;

/**
 * Public comments written by agents, oldest first. Authors come sideloaded (`include=users`) so the
 * role is known without a request per author; the customer's own comments (role end-user) and
 * private notes are left out.
 */
export async function listAgentReplies(http: ZendeskHttp, ticketId: string): Promise<AgentReply[]> {
  const roles = new Map<number, string>();
  const comments: ZdComment[] = [];
  let next: string | undefined = `/tickets/${encodeURIComponent(ticketId)}/comments`;
  for (let page = 0; next && page < MAX_PAGES; page++) {
    const { data } = await http.request(`list comments of ticket ${ticketId}`, 'GET', next, CommentsPage, { query: { include: 'users' } });
    for (const user of data.users ?? []) if (user.id !== null && user.role) roles.set(user.id, user.role);
    comments.push(...data.comments);
    next = nextPageOf(data);
  }
  return comments
    .filter((c) => c.public === true && c.author_id != null && AGENT_ROLES.has(roles.get(c.author_id) ?? ''))
    .map((c) => ({
      ticketId,
      commentId: String(c.id),
      // Zendesk's plain_body drops link targets; the HTML keeps them.
      text: c.html_body ? htmlToPlainText(c.html_body) : (c.plain_body ?? c.body ?? ''),
      html: c.html_body ?? undefined,
      attachments: (c.attachments ?? []).map((a) => ({
        name: a.file_name,
        mime: a.content_type ?? 'application/octet-stream',
        url: a.content_url,
        size: a.size ?? undefined,
      })),
      createdAt: c.created_at ?? undefined,
    }));
}
