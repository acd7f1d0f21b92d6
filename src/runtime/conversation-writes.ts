import { searchTerm } from '../core/jobs.ts';

/** A conversation's events are trimmed on its first record of a minute and then every this many records. */
export const TRIM_EVERY = 16;

/**
 * What a conversation log writes for one record, so that recording costs little on the accept
 * path (every accepted message is recorded). A search term already written for the conversation
 * this minute is not written again: only its time would move, and search orders conversations by
 * minutes at best. Trimming a conversation to its newest events is needed only now and then: on
 * its first record in a minute and every TRIM_EVERY records after, so it holds at most
 * TRIM_EVERY - 1 events more than the limit, and readers return the newest
 * `eventsPerConversation`. What it remembers is forgotten every minute, so it stays as small as
 * one minute's conversations.
 */
export class ConversationWrites {
  private minute = -1;
  private readonly terms = new Set<string>();
  private readonly records = new Map<string, number>();

  plan(key: string, raw: readonly string[], now: number): { terms: string[]; trim: boolean } {
    const minute = Math.floor(now / 60_000);
    if (minute !== this.minute) {
      this.minute = minute;
      this.terms.clear();
      this.records.clear();
    }
    const n = this.records.get(key) ?? 0;
    this.records.set(key, n + 1);
    const terms: string[] = [];
    for (const r of raw) {
      // Remembered as given: a repeat costs a lookup, not a search term's normalizing.
      const seen = `${key}\n${r}`;
      if (r === '' || this.terms.has(seen)) continue;
      this.terms.add(seen);
      const term = searchTerm(r);
      if (term.length > 0 && !terms.includes(term)) terms.push(term);
    }
    return { terms, trim: n % TRIM_EVERY === 0 };
  }
}
