import type { z } from 'zod';
import type { KeyValueStore } from './connector.ts';

/**
 * A JSON value kept in the key-value store, checked with its schema when read: a value that is
 * missing, not JSON or of another shape (an older version, a damaged record) reads as absent.
 */
export async function readKvJson<T>(kv: KeyValueStore, key: string, schema: z.ZodType<T>): Promise<T | undefined> {
  const raw = await kv.get(key);
  if (raw === undefined) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
