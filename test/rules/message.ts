import { NormalizedMessage, type NormalizedMessageInput } from '../../src/core/message.ts';

/** A normalized message as a channel would emit it; `overrides` replace top-level fields. */
export function playerMessage(text: string, overrides: Partial<NormalizedMessageInput> = {}): NormalizedMessage {
  return NormalizedMessage.parse({
    id: '01JTESTMESSAGE0000000000000',
    channel: { id: 'telegram', kind: 'telegram' },
    kind: 'message',
    externalId: '42',
    dedupeKey: 'telegram:1:42',
    conversation: { externalId: '1' },
    sender: { externalId: '1001', displayName: 'Player One' },
    text,
    occurredAt: '2025-03-10T09:00:00.000Z',
    receivedAt: '2025-03-10T09:00:01.000Z',
    ...overrides,
  });
}
