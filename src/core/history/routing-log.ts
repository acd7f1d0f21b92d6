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
 * Appends from one process are serialized and written in groups: the records that arrive while
 * one group is being written go together in the next (one pointer read, their slots, one pointer
 * write), so a store reached over the network (Redis) costs a few round trips per group, not per
 * record, and the appends of many deliveries in flight do not queue up behind each other's round
 * trips. A store that appends to the ring in one atomic step of its own (Redis,
 * KeyValueStore.appendToRing) takes the appends of one event-loop turn together, without waiting
 * for any other: one round trip, and worker processes on one Redis never claim the same slot.
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
  /** Records waiting for the group being written now. */
  #waiting: { value: string; done: (err?: unknown) => void }[] = [];
  #writing = false;

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
    const value = JSON.stringify({ ...record, message: keptMessage(record.message) });
    return new Promise((resolve, reject) => {
      this.#waiting.push({ value, done: (err) => (err === undefined ? resolve() : reject(err)) });
      if (!this.#kv.appendToRing) {
        if (!this.#writing) void this.#writeGroups();
      } else if (this.#waiting.length === 1) {
        setImmediate(() => this.#appendTurn(this.#kv.appendToRing!.bind(this.#kv)));
      }
    });
  }

  /**
   * The records of one event-loop turn in one atomic step of the store's own (Redis: one script):
   * no append waits for another's, and the pointer and the step's fixed cost are paid once per
   * turn, not once per record.
   */
  #appendTurn(appendToRing: NonNullable<KeyValueStore['appendToRing']>): void {
    const waiting = this.#waiting.splice(0);
    // No more than the ring holds: a step never writes one slot twice.
    for (let i = 0; i < waiting.length; i += this.#keep) {
      const group = waiting.slice(i, i + this.#keep);
      appendToRing(KEY, group.map((g) => g.value), this.#keep, this.#now() - this.#maxAgeMs).then(
        () => group.forEach((g) => g.done()),
        (err: unknown) => group.forEach((g) => g.done(err ?? new Error('routing log write failed'))),
      );
    }
  }

  async #writeGroups(): Promise<void> {
    this.#writing = true;
    while (this.#waiting.length > 0) {
      // No more than the ring holds: a group never writes one slot twice.
      const group = this.#waiting.splice(0, this.#keep);
      try {
        await this.#write(group.map((g) => g.value));
        for (const g of group) g.done();
      } catch (err) {
        for (const g of group) g.done(err ?? new Error('routing log write failed'));
      }
    }
    this.#writing = false;
  }

  /**
   * The records in order at the head and the pointer after them, in one round trip after the
   * pointer's read (sent in that order: a reader never finds the pointer ahead of its records);
   * then expired ones dropped from the old end, and the pointer again if any were. Each group is
   * two round trips, and every delivery in flight waits for a group or two.
   */
  async #write(values: string[]): Promise<void> {
    const p = await this.#pointer();
    const head = p.head + values.length;
    const kept = Math.max(p.tail, head - this.#keep);
    // The oldest record before them is read while the new ones are written (its slot is not one of theirs).
    const [oldest] = await Promise.all([
      kept < p.head ? this.#read(kept) : undefined,
      ...values.map((v, i) => this.#kv.set(this.#slot(p.head + i), v)),
      this.#kv.set(`${KEY}:pointer`, JSON.stringify({ head, tail: kept })),
    ]);
    // Drop expired records from the old end, never the ones just written; a few per record keeps up with any rate.
    let tail = kept;
    for (let i = 0; i < 4 * values.length && tail < p.head; i++) {
      const record = i === 0 ? oldest : await this.#read(tail);
      if (record && record.at >= this.#now() - this.#maxAgeMs) break;
      await this.#kv.delete(this.#slot(tail));
      tail++;
    }
    if (tail !== kept) await this.#kv.set(`${KEY}:pointer`, JSON.stringify({ head, tail }));
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
