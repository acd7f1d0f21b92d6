import { z } from 'zod';

/**
 * The model file: JSON, versioned. Weights are stored sparsely (only buckets some training text
 * touched), quantized to 16 bits and base64-encoded, so a model of a few thousand tickets is a
 * few hundred kilobytes and loads in milliseconds.
 */

export const MODEL_FORMAT = 'switchboard.text-model';
export const MODEL_VERSION = 1;

export const TopicMetrics = z.object({
  precision: z.number(),
  recall: z.number(),
  support: z.number().int(),
});

export const ModelFile = z.strictObject({
  format: z.literal(MODEL_FORMAT),
  version: z.literal(MODEL_VERSION),
  /** Output classes, in the order of each bucket's weights. */
  topics: z.array(z.string().min(1)).min(2),
  features: z.strictObject({
    buckets: z.number().int().refine((n) => n >= 2 && (n & (n - 1)) === 0 && n <= 1 << 24, 'a power of two up to 2^24'),
    charMin: z.number().int().min(1).max(10),
    charMax: z.number().int().min(1).max(10),
    wordNgrams: z.number().int().min(1).max(2),
    skeleton: z.boolean().optional(),
  }),
  bias: z.array(z.number()),
  /** Weight = stored int16 × scale. */
  scale: z.number().positive(),
  /** Base64 of the touched bucket ids, ascending, as uint32 little-endian. */
  index: z.string(),
  /** Base64 of int16 little-endian weights, bucket-major: weights[i * topics + k]. */
  weights: z.string(),
  /** How it was made, for people: when, from what, and the held-out scores. */
  trained: z.looseObject({
    at: z.string(),
    examples: z.number().int(),
    seed: z.number().int(),
    sources: z.array(z.string()).optional(),
    heldOut: z.record(z.string(), TopicMetrics).optional(),
  }),
});
export type ModelFile = z.infer<typeof ModelFile>;

export function encodeUint32(values: Uint32Array): string {
  const buf = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) buf.writeUInt32LE(values[i]!, i * 4);
  return buf.toString('base64');
}

export function encodeInt16(values: Int16Array): string {
  const buf = Buffer.alloc(values.length * 2);
  for (let i = 0; i < values.length; i++) buf.writeInt16LE(values[i]!, i * 2);
  return buf.toString('base64');
}

export function decodeUint32(b64: string): Uint32Array {
  const buf = Buffer.from(b64, 'base64');
  const out = new Uint32Array(Math.floor(buf.length / 4));
  for (let i = 0; i < out.length; i++) out[i] = buf.readUInt32LE(i * 4);
  return out;
}

export function decodeInt16(b64: string): Int16Array {
  const buf = Buffer.from(b64, 'base64');
  const out = new Int16Array(Math.floor(buf.length / 2));
  for (let i = 0; i < out.length; i++) out[i] = buf.readInt16LE(i * 2);
  return out;
}
