import { randomFillSync } from 'node:crypto';
import { ulid } from 'ulid';

/**
 * Sortable unique ids (ULIDs) for messages and jobs. `ulid()` alone looks up its random
 * source and draws one byte from the OS per character (16 calls per id), which was a third
 * of the accept path's CPU under load; this draws the same cryptographic bytes 4 KB at a time.
 */
const pool = new Uint8Array(4096);
let next = pool.length;

function randomByte(): number {
  if (next >= pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  return pool[next++]! / 256;
}

export function newId(): string {
  return ulid(undefined, randomByte);
}
