import type { Conversation, ReplyToSend, SendResult } from '../../../src/core/connector.ts';
import { DeliveryError } from '../../../src/core/errors.ts';

/**
 * `send` for channels that only receive (webhooks, phone calls). An agent's reply becomes a
 * private note telling the agent how to reach the customer instead; an automatic reply is
 * refused outright (dead-lettered with a note), since a rule asked for something impossible.
 */
export function inboundOnlySend(what: string): (to: Conversation, reply: ReplyToSend) => Promise<SendResult> {
  return async (to, reply) => {
    if (reply.automatic) {
      throw new DeliveryError(`${what} only receives: it cannot send the automatic reply`, { kind: 'permanent' });
    }
    const reach = [to.sender.phone && `call ${to.sender.phone}`, to.sender.email && `write to ${to.sender.email}`].filter(Boolean);
    const hint = reach.length > 0 ? `; ${reach.join(' or ')}` : '';
    return { externalIds: [], notes: [`${what} only receives, so the customer did not get this reply${hint}.`] };
  };
}
