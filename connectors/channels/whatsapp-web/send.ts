import { z } from 'zod';
import type { Conversation, FetchedFile, KeyValueStore, ReplyToSend, SendResult } from '../../../src/core/connector.ts';
import { DeliveryError } from '../../../src/core/errors.ts';
import { splitText } from '../../../src/kit/outbound/split-text.ts';
import { SentParts } from '../../../src/kit/outbound/sent-parts.ts';
import type { WebClient, WebLibrary } from './library.ts';

/** WhatsApp takes long texts (about 65,000 characters); cut well below so nothing is refused. */
export const TEXT_LIMIT = 60_000;
/** What WhatsApp lets a linked device send as a file. */
export const FILE_LIMIT = 100 * 1024 * 1024;
const INLINE_MIMES = new Set(['image/jpeg', 'image/png', 'video/mp4']);

export interface SendDeps {
  client(): WebClient;
  library(): Promise<WebLibrary>;
  kv: KeyValueStore;
}

type Part = { kind: 'text'; text: string } | { kind: 'file'; file: FetchedFile };

/**
 * Text first, then each file (pictures and videos inline, the rest as documents). Each part is
 * recorded under the reply id once sent, so a retry after a failure sends only what is missing.
 * A client that is not connected is a retry: the reply waits for the reconnect.
 */
export async function sendReply(deps: SendDeps, to: Conversation, reply: ReplyToSend): Promise<SendResult> {
  const notes: string[] = [];
  const parts: Part[] = splitText(reply.text, TEXT_LIMIT).map((text) => ({ kind: 'text', text }));
  for (const file of reply.files) {
    if (file.data.length > FILE_LIMIT) notes.push(`"${file.name}" was not sent: WhatsApp takes files up to 100 MB.`);
    else parts.push({ kind: 'file', file });
  }
  const sent = await SentParts.open(deps.kv, `sent:${reply.replyId}`, z.string());
  const externalIds: string[] = [];
  for (const [index, part] of parts.entries()) {
    const id = await sent.once(index, part.kind === 'text' ? [part.text] : [part.file.name, part.file.data], async () => {
      const client = deps.client();
      try {
        const content = part.kind === 'text' ? part.text : (await deps.library()).media(part.file.mime, part.file.data.toString('base64'), part.file.name);
        const options = part.kind === 'file' ? { sendMediaAsDocument: !INLINE_MIMES.has(part.file.mime.toLowerCase()) } : undefined;
        return (await client.sendMessage(to.externalId, content, options)).id._serialized;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        throw new DeliveryError(`WhatsApp Web could not send to ${to.externalId}: ${message}`, { kind: 'retry', ambiguous: true, detail: message });
      }
    });
    externalIds.push(id);
  }
  return notes.length > 0 ? { externalIds, notes } : { externalIds };
}
