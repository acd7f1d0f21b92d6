import type { ChannelRef } from '../connector.ts';
import type { Decision } from '../rules/schema.ts';
import type { IdentityService } from './service.ts';

/**
 * The ticket's player field (`identity.ticketField`): the player id the gateway knows for the
 * customer beats one a rule found in the text (anyone can type a number).
 */
export function playerField(identity: IdentityService, who: { playerId?: string } | undefined, decision: Decision): Record<string, string> {
  const id = who?.playerId ?? decision.player?.id;
  return id && identity.ticketFieldMapped ? { [identity.options.ticketField]: id } : {};
}

/** Said on the ticket when another channel's conversation joins it. */
export function joinedNote(channel: ChannelRef, playerId: string | undefined): string {
  return `Switchboard: this message came in on ${channel.id} (${channel.kind}, ${channel.medium}) from the same customer${playerId ? ` (player ${playerId})` : ''}, so it joined their open ticket. Replies go to the channel the customer wrote on last.`;
}
