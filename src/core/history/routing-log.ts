import { z } from 'zod';
import type { KeyValueStore } from '../connector.ts';
import { NormalizedMessage } from '../message.ts';
import { maskPersonalData } from '../redact.ts';
import { MAX_SEARCH_CHARS } from '../rules/conditions.ts';
import { Decision } from '../rules/schema.ts';

/**
 * What the gateway decided for each message it routed, with the message itself (personal data
 * masked, the channel's raw payload dropped), kept in a ring of `keep` records in the runtime's
 * key-value store: `rules eval` compares the decisions of created tickets with the tags agents
 * left, `rules diff` replays the messages through edited rules.
 *
 * Appends from one process are serialized. Several worker processes on one Redis can, rarely,
 * claim the same slot at the same moment: one of the two records is then lost, which skews no
 * figure (both readers work on samples).
 */

export const RoutedRecord = z.object({
  /** When it was routed (ms). */
  at: z.number(),
  ticketId: z.string(),
  /** This message created the ticket (the first of its conversation, or a follow-up ticket). */
  created: z.boolean(),
  isFirst: z.boolean(),
  message: NormalizedMessage,
  decision: Decision,
});
export type RoutedRecord = z.infer<typeof RoutedRecord>;

const Pointer = z.object({ head: z.number().int().min(0), tail: z.number().int().min(0) });
type Pointer = z.infer<typeof Pointer>;

const KEY = 'routing-log';
const DAY_MS = 86_400_000;

export interface RoutingLogOptions {
  keep: number;
  days: number;
  now?: () => number;
}

/** The message as it is kept: masked, no raw payload, text cut like the rules cut it. */
export function keptMessage(m: NormalizedMessage): NormalizedMessage {
  const mask = (s: string) => maskPersonalData(s.slice(0, MAX_SEARCH_CHARS));
  const maskOpt = (s: string | undefined) => (s === undefined ? undefined : mask(s));
  const { raw: _raw, html: _html, ...rest } = m;
  return {
    ...rest,
    text: mask(m.text),
    conversation: { ...m.conversation, subject: maskOpt(m.conversation.subject) },
    sender: { ...m.sender, phone: maskOpt(m.sender.phone), email: maskOpt(m.sender.email) },
    ...(m.form ? { form: { ...m.form, fields: Object.fromEntries(Object.entries(m.form.fields).map(([k, v]) => [k, mask(v)])) } } : {}),
    ...(m.call ? { call: { ...m.call, from: mask(m.call.from), to: mask(m.call.to), transcript: maskOpt(m.call.transcript) } } : {}),
    meta: {},
  };
}

export class RoutingLog {
  readonly #kv: KeyValueStore;
  readonly #keep: number;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(kv: KeyValueStore, options: RoutingLogOptions) {
    this.#kv = kv;
    this.#keep = options.keep;
    this.#maxAgeMs = options.days * DAY_MS;
    this.#now = options.now ?? Date.now;
  }

  async #pointer(): Promise<Pointer> {
    const raw = await this.#kv.get(`${KEY}:pointer`);
    const parsed = raw === undefined ? undefined : Pointer.safeParse(JSON.parse(raw));
    return parsed?.success ? parsed.data : { head: 0, tail: 0 };
  }

  #slot(seq: number): string {
    return `${KEY}:${seq % this.#keep}`;
  }

  async #read(seq: number): Promise<RoutedRecord | undefined> {
    const raw = await this.#kv.get(this.#slot(seq));
    if (raw === undefined) return undefined;
    try {
      const parsed = RoutedRecord.safeParse(JSON.parse(raw));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  /** Keeps one more record; the oldest goes when the ring is full, and any older than `days`. */
  append(record: Omit<RoutedRecord, 'message'> & { message: NormalizedMessage }): Promise<void> {
    if (this.#keep === 0) return Promise.resolve();
    const next = this.#chain.then(async () => {
      const p = await this.#pointer();
      await this.#kv.set(this.#slot(p.head), JSON.stringify({ ...record, message: keptMessage(record.message) }));
      let tail = Math.max(p.tail, p.head + 1 - this.#keep);
      // Drop expired records from the old end; a few per append keeps up with any rate.
      for (let i = 0; i < 4 && tail < p.head; i++) {
        const oldest = await this.#read(tail);
        if (oldest && oldest.at >= this.#now() - this.#maxAgeMs) break;
        await this.#kv.delete(this.#slot(tail));
        tail++;
      }
      await this.#kv.set(`${KEY}:pointer`, JSON.stringify({ head: p.head + 1, tail }));
    });
    this.#chain = next.catch(() => undefined);
    return next;
  }

  /** Newest first: at most `limit` records, none older than `since` (ms) or than `days`. */
  async *newest(opts: { limit?: number; since?: number } = {}): AsyncGenerator<RoutedRecord> {
    const p = await this.#pointer();
    const oldestAllowed = Math.max(opts.since ?? 0, this.#now() - this.#maxAgeMs);
    const tail = Math.max(p.tail, p.head - this.#keep);
    let given = 0;
    for (let seq = p.head - 1; seq >= tail && given < (opts.limit ?? Infinity); seq--) {
      const r = await this.#read(seq);
      if (!r) continue;
      if (r.at < oldestAllowed) return;
      yield r;
      given++;
    }
  }
}
