import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { KeyValueStore } from '../../core/connector.ts';

/**
 * What a reply's parts (text pieces, files) became at the channel, recorded under the reply id
 * as each part goes out, so a retry after a failure in the middle sends only what is missing and
 * `send` stays idempotent on the reply id. Each part is keyed by its position and a fingerprint
 * of its content: a changed reply never skips a part it did not send.
 */
export class SentParts<V extends string | number> {
  readonly #kv: KeyValueStore;
  readonly #key: string;
  readonly #sent: Record<string, V>;

  private constructor(kv: KeyValueStore, key: string, sent: Record<string, V>) {
    this.#kv = kv;
    this.#key = key;
    this.#sent = sent;
  }

  /** The record under `key`; `value` is what the channel calls a sent message (a message id). */
  static async open<V extends string | number>(kv: KeyValueStore, key: string, value: z.ZodType<V>): Promise<SentParts<V>> {
    return new SentParts(kv, key, parse(await kv.get(key), value));
  }

  /**
   * The part at `index` with this content: what it became when it was sent before, else `send`'s
   * result, recorded before the next part goes.
   */
  async once(index: number, content: (string | Uint8Array)[], send: () => Promise<V>): Promise<V> {
    const partKey = `${index}:${fingerprint(content)}`;
    const already = this.#sent[partKey];
    if (already !== undefined) return already;
    const id = await send();
    this.#sent[partKey] = id;
    await this.#kv.set(this.#key, JSON.stringify(this.#sent), { keep: 'sent' });
    return id;
  }
}

/** The first 16 hex digits of the SHA-256 of the pieces, one after another. */
function fingerprint(content: (string | Uint8Array)[]): string {
  const hash = createHash('sha256');
  for (const piece of content) hash.update(piece);
  return hash.digest('hex').slice(0, 16);
}

/** An unreadable record means nothing is known to be sent: sending again beats losing a part. */
function parse<V>(stored: string | undefined, value: z.ZodType<V>): Record<string, V> {
  if (stored === undefined) return {};
  try {
    const parsed = z.record(z.string(), value).safeParse(JSON.parse(stored));
    return parsed.success ? (parsed.data as Record<string, V>) : {};
  } catch {
    return {};
  }
}
