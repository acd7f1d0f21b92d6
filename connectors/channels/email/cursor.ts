import { z } from 'zod';
import type { KeyValueStore } from '../../../src/core/connector.ts';
import { readKvJson } from '../../../src/core/kv-json.ts';

/**
 * How far the gateway has read a folder: the folder's UIDVALIDITY and the last UID taken in.
 * After a restart or an outage of any length, every UID above it is fetched, and nothing below.
 *
 * `pass` marks a pass over a restricted set that has not finished yet, up to UID `top`:
 * the first start (only unread mail, or all of it) and a rescan after UIDVALIDITY changed (the
 * mail since `since`, each skipped when its Message-ID was taken before).
 */
export const Cursor = z.object({
  uidValidity: z.string(),
  lastUid: z.number().int().nonnegative(),
  /** When the gateway began reading this folder (ISO). */
  since: z.string(),
  pass: z.object({ kind: z.enum(['unseen', 'all', 'rescan']), top: z.number().int().nonnegative() }).optional(),
});
export type Cursor = z.infer<typeof Cursor>;

export class CursorStore {
  readonly #kv: KeyValueStore;
  readonly #key: string;

  constructor(kv: KeyValueStore, mailbox: string) {
    this.#kv = kv;
    this.#key = `cursor:${mailbox}`;
  }

  /** Unreadable reads as absent: start over as on a first start, rather than guess a position. */
  load(): Promise<Cursor | undefined> {
    return readKvJson(this.#kv, this.#key, Cursor);
  }

  async save(cursor: Cursor): Promise<void> {
    await this.#kv.set(this.#key, JSON.stringify(cursor));
  }
}
