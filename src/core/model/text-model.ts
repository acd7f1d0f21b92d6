import { featurize, type FeatureSpec } from './features.ts';
import { decodeInt16, decodeUint32, ModelFile } from './model-file.ts';

/** Probability per topic; they add up to 1. */
export type Scores = Record<string, number>;

/**
 * A trained multinomial logistic regression over hashed n-grams: what a `model:` rule condition
 * asks. Weights are held dense (buckets × topics floats) so scoring is a few hundred
 * multiply-adds per message.
 */
export class TextModel {
  readonly topics: readonly string[];
  readonly features: FeatureSpec;
  readonly file: ModelFile;
  readonly #bias: Float32Array;
  readonly #weights: Float32Array;

  private constructor(file: ModelFile, weights: Float32Array) {
    this.file = file;
    this.topics = file.topics;
    this.features = file.features;
    this.#bias = Float32Array.from(file.bias);
    this.#weights = weights;
  }

  /** Validates and unpacks a model file's JSON; throws an Error saying what is wrong. */
  static fromJSON(json: unknown): TextModel {
    const parsed = ModelFile.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`not a Switchboard model file: ${issue?.path.join('.') || 'top level'}: ${issue?.message ?? 'invalid'}`);
    }
    const file = parsed.data;
    const k = file.topics.length;
    if (new Set(file.topics).size !== k) throw new Error('model file: topics are not unique');
    if (file.bias.length !== k) throw new Error(`model file: ${file.bias.length} biases for ${k} topics`);
    if (file.features.charMin > file.features.charMax) throw new Error('model file: features.charMin is above charMax');
    const index = decodeUint32(file.index);
    const q = decodeInt16(file.weights);
    if (q.length !== index.length * k) throw new Error(`model file: ${q.length} weights for ${index.length} buckets × ${k} topics`);
    const weights = new Float32Array(file.features.buckets * k);
    let last = -1;
    for (let i = 0; i < index.length; i++) {
      const b = index[i]!;
      if (b <= last || b >= file.features.buckets) throw new Error('model file: bucket ids out of order or out of range');
      last = b;
      for (let t = 0; t < k; t++) weights[b * k + t] = q[i * k + t]! * file.scale;
    }
    return new TextModel(file, weights);
  }

  /** Probabilities of each topic for a text. */
  score(text: string): Scores {
    const k = this.topics.length;
    const logits = Float64Array.from(this.#bias);
    const { index, value } = featurize(text, this.features);
    for (let i = 0; i < index.length; i++) {
      const base = index[i]! * k;
      const v = value[i]!;
      for (let t = 0; t < k; t++) logits[t]! += v * this.#weights[base + t]!;
    }
    const probs = softmax(logits);
    const out: Scores = {};
    for (let t = 0; t < k; t++) out[this.topics[t]!] = probs[t]!;
    return out;
  }
}

export function softmax(logits: Float64Array): Float64Array {
  let max = -Infinity;
  for (const z of logits) if (z > max) max = z;
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    out[i] = Math.exp(logits[i]! - max);
    sum += out[i]!;
  }
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

/** The topic with the highest score. */
export function topTopic(scores: Scores): { topic: string; score: number } {
  let best = { topic: '', score: -1 };
  for (const [topic, score] of Object.entries(scores)) if (score > best.score) best = { topic, score };
  return best;
}
