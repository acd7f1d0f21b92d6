import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { TgUpdate } from '../../connectors/channels/telegram/update.ts';
import { NormalizedMessage } from '../../src/core/message.ts';
import { quickParser } from '../../src/core/quick-parse.ts';
import { playerMessage } from '../fixtures/message.ts';

const message = playerMessage('вывод не пришёл', {
  sender: { externalId: '5000001', displayName: 'Player', locale: 'ru' },
  attachments: [{ name: 'photo.jpg', mime: 'image/jpeg', size: 1200, source: 'file-1' }],
  raw: { update_id: 1, message: { text: 'вывод не пришёл' } },
  meta: { updateId: 1, chatType: 'private' },
});

const update = {
  update_id: 100_000_001,
  message: {
    message_id: 7,
    date: 1_765_000_000,
    chat: { id: 5_000_001, type: 'private', first_name: 'Player' },
    from: { id: 5_000_001, is_bot: false, first_name: 'Player', language_code: 'ru' },
    text: 'вывод не пришёл',
    photo: [{ file_id: 'a', file_unique_id: 'b', width: 90, height: 90, file_size: 1200 }],
    some_new_field: { kept: true },
  },
};

/** Every path to a value inside `v`. */
function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (typeof v !== 'object' || v === null) return [at];
  const keys: (string | number)[] = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
  return [at, ...keys.flatMap((k) => paths((v as Record<string | number, unknown>)[k], [...at, k]))];
}

function mutate(v: unknown, path: (string | number)[], value: unknown, extraKey: string | undefined): unknown {
  const copy = structuredClone(v) as Record<string | number, unknown>;
  if (path.length === 0) return value;
  let node = copy;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (value === 'DELETE') delete node[last];
  else node[last] = value;
  if (extraKey !== undefined && typeof node === 'object' && node !== null && !Array.isArray(node)) node[extraKey] = 'extra';
  return copy;
}

const edgeStrings = ['', 'x', '😀'.repeat(500), '😀'.repeat(501), 'a'.repeat(1000), 'a'.repeat(1001), 'ж'.repeat(65), '1'.repeat(64)];
const anyValue = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom(...edgeStrings, 'DELETE', 'message', 'edit', 'nope'),
  fc.integer(),
  fc.double(),
  fc.constantFrom(-1, 0, 1.5, Number.MAX_SAFE_INTEGER + 2, Infinity, NaN),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.array(fc.string({ maxLength: 3 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);

/** The quick path says yes or no exactly where zod does, and returns what zod would (as JSON sees it). */
function agreesWithZod(schema: z.ZodType, sample: unknown): void {
  const quick = quickParser(schema);
  expect(quick.quick).toBe(true);
  const all = paths(sample);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: all.length - 1 }), anyValue, fc.option(fc.constantFrom('extra', 'text', 'id'), { nil: undefined }), (i, value, extra) => {
      const input = mutate(sample, all[i]!, value, extra);
      const mine = quick.safeParse(structuredClone(input));
      const zods = schema.safeParse(structuredClone(input));
      expect(mine.success).toBe(zods.success);
      if (mine.success && zods.success) expect(JSON.parse(JSON.stringify(mine.data))).toEqual(JSON.parse(JSON.stringify(zods.data)));
      if (!mine.success && !zods.success) expect(mine.error.issues[0]?.path).toEqual(zods.error.issues[0]?.path);
    }),
    { numRuns: 3000 },
  );
}

describe('quick parse (the accept path validates with the schema read once into plain checks)', () => {
  it('agrees with zod on normalized messages, right and wrong', () => agreesWithZod(NormalizedMessage, message));

  it('agrees with zod on Telegram updates, right and wrong (unknown fields kept)', () => agreesWithZod(TgUpdate, update));

  it('returns a right value as it is, fills defaults, and leaves what it does not know to zod', () => {
    const quick = quickParser(NormalizedMessage);
    const { attachments: _a, meta: _m, ...bare } = message;
    const r = quick.safeParse(bare);
    expect(r.success && r.data.attachments).toEqual([]);
    expect(r.success && r.data.meta).toEqual({});
    const u = quickParser(TgUpdate).safeParse(update);
    expect(u.success && u.data).toBe(update);
    // A refinement is not read: every value goes to zod.
    const refined = quickParser(z.object({ a: z.string().refine((s) => s !== 'x', 'not x') }));
    expect(refined.quick).toBe(false);
    expect(refined.safeParse({ a: 'x' }).success).toBe(false);
  });
});
