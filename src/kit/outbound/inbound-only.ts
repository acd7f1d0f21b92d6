import type { Conversation, ReplyToSend, SendResult } from '../../core/connector.ts';

/**
 * `send` for channels that only receive (webhooks, phone calls): nothing is sent, and the
 * agents are told so in a private note, with how to reach the customer instead. The pipeline
 * words the note for an agent's reply and for a declined automatic reply alike.
 */
export function inboundOnlySend(what: string): (to: Conversation, reply: ReplyToSend) => Promise<SendResult> {
  return async (to) => {
    const reach = [to.sender.phone && `call ${to.sender.phone}`, to.sender.email && `write to ${to.sender.email}`].filter(Boolean);
    const hint = reach.length > 0 ? `; ${reach.join(' or ')}` : '';
    return { externalIds: [], notes: [`${what} only receives, so the customer did not get it${hint}.`] };
  };
}
