import { describe, expect, it } from 'vitest';
import { ConversationWrites, TRIM_EVERY } from '../../src/runtime/conversation-writes.ts';

describe('conversation log writes on the accept path', () => {
  it('writes a search term once a minute per conversation, normalized, and trims now and then', () => {
    const w = new ConversationWrites();
    const t = Date.UTC(2026, 11, 7, 15, 0, 0);
    expect(w.plan('telegram:1', ['777', '@Azamat_UZ', '', '+998 90 123-45-67'], t)).toEqual({ terms: ['777', 'azamat_uz', '998901234567'], trim: true });
    // The same conversation in the same minute: nothing to search by is new, no trim yet.
    expect(w.plan('telegram:1', ['777', '@Azamat_UZ'], t + 1000)).toEqual({ terms: [], trim: false });
    // Another conversation of the same customer id still gets its terms.
    expect(w.plan('telegram:2', ['777'], t + 1000).terms).toEqual(['777']);
    const trims = Array.from({ length: 3 * TRIM_EVERY }, (_, i) => w.plan('telegram:1', [], t + 2000 + i).trim).filter(Boolean).length;
    expect(trims).toBe(3);
    // A new minute: terms are written again and the conversation is trimmed on its first record.
    expect(w.plan('telegram:1', ['777'], t + 60_000)).toEqual({ terms: ['777'], trim: true });
  });
});
