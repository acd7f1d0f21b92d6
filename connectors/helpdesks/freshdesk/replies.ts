import type { AgentReply } from '../../../src/core/connector.ts';
import { htmlToPlainText } from '../../../src/kit/html-text.ts';
import type { FreshdeskHttp } from './http.ts';
import { listConversations } from './reconcile.ts';

/**
 * Public answers by agents, oldest first: replies and public notes that did not come in from the
 * customer. The customer's own messages (written `incoming`) and private notes are left out.
 */
export async function listAgentReplies(http: FreshdeskHttp, ticketId: string): Promise<AgentReply[]> {
  const conversations = await listConversations(http, ticketId);
  return conversations
    .filter((c) => c.private === false && c.incoming !== true)
    .map((c) => ({
      ticketId,
      commentId: String(c.id),
      // body_text drops link targets; the HTML body keeps them.
      text: c.body ? htmlToPlainText(c.body) : (c.body_text ?? ''),
      html: c.body ?? undefined,
      attachments: (c.attachments ?? []).map((a) => ({
        name: a.name,
        mime: a.content_type ?? 'application/octet-stream',
        url: a.attachment_url,
        size: a.size ?? undefined,
      })),
      createdAt: c.created_at ?? undefined,
    }));
}
