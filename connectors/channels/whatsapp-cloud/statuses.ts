import type { KeyValueStore } from '../../../src/core/connector.ts';
import type { WaStatus } from './payload.ts';
import { lookupSent } from './sent-index.ts';

export interface StatusNote {
  conversation: string;
  text: string;
  key: string;
}

/**
 * A `failed` receipt for one of our sends becomes a note for the agents, with Meta's code, title
 * and details as Meta wrote them. Other statuses (sent, delivered, read) need no one's attention.
 * The conversation comes from what `send` recorded; a message we did not record (sent before an
 * upgrade, or by another tool on the same number) falls back to the recipient's id.
 */
export async function noteForStatus(kv: KeyValueStore, status: WaStatus): Promise<StatusNote | undefined> {
  if (status.status !== 'failed') return undefined;
  const sent = await lookupSent(kv, status.id);
  const conversation = sent?.conversation ?? status.recipient_id;
  if (!conversation) return undefined;
  const errors = (status.errors ?? []).map((e) => {
    const head = [e.code !== undefined ? `error ${e.code}` : undefined, e.title ?? e.message].filter(Boolean).join(': ');
    const details = e.error_data?.details;
    return details && details !== e.title ? `${head} (${details})` : head;
  });
  const what = sent ? `the message "${sent.excerpt}"` : `message ${status.id}`;
  const at = status.timestamp && /^\d+$/.test(status.timestamp) ? ` at ${new Date(Number(status.timestamp) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')}` : '';
  const why = errors.length > 0 ? errors.join('; ') : 'WhatsApp gave no reason';
  return {
    conversation,
    text: `Switchboard: WhatsApp reports that ${what} was NOT delivered to the customer${at}: ${why}.`,
    key: `status:${status.id}:failed`,
  };
}
