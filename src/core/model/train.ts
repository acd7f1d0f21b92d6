import { DEFAULT_FEATURES, featurize, type FeatureSpec, type Features } from './features.ts';
import { encodeInt16, encodeUint32, MODEL_FORMAT, MODEL_VERSION, type ModelFile } from './model-file.ts';
import { seededRandom, shuffle } from '../random.ts';
import { softmax, TextModel, topTopic } from './text-model.ts';

/**
 * Training: multinomial logistic regression by stochastic gradient descent with AdaGrad steps and
 * L2 regularization, examples visited in a seeded order. The same examples and seed give the
 * same model file, byte for byte.
 */

export interface Example {
  text: string;
  topic: string;
}

export interface TrainOptions {
  seed?: number;
  epochs?: number;
  learningRate?: number;
  l2?: number;
  features?: FeatureSpec;
  /** Extra weight of a topic's examples, e.g. { responsible_gaming: 2 }: recall first where a miss costs most. */
  topicWeights?: Record<string, number>;
  /** Called after each epoch (progress output). */
  onEpoch?(epoch: number, epochs: number, loss: number): void;
  /** For the file's `trained` record. */
  sources?: string[];
  heldOut?: Record<string, TopicMetrics>;
  now?: Date;
}

export interface TopicMetrics {
  precision: number;
  recall: number;
  support: number;
}

/** l2 chosen by 5-fold cross-validation over the labeled sets (docs/rules.md, "How the settings were chosen"). */
export const TRAIN_DEFAULTS = { seed: 1, epochs: 30, learningRate: 0.5, l2: 1e-3 } as const;

/** Topics in a stable order: by name, so the file does not depend on the order of the examples. */
function topicsOf(examples: readonly Example[]): string[] {
  return [...new Set(examples.map((e) => e.topic))].sort();
}

export function train(examples: readonly Example[], options: TrainOptions = {}): TextModel {
  return TextModel.fromJSON(trainFile(examples, options));
}

export function trainFile(examples: readonly Example[], options: TrainOptions = {}): ModelFile {
  const topics = topicsOf(examples);
  if (topics.length < 2) throw new Error(`training needs at least two topics; the examples have ${topics.length === 1 ? `only ${topics[0]}` : 'none'}`);
  const spec = options.features ?? DEFAULT_FEATURES;
  const seed = options.seed ?? TRAIN_DEFAULTS.seed;
  const epochs = options.epochs ?? TRAIN_DEFAULTS.epochs;
  const lr = options.learningRate ?? TRAIN_DEFAULTS.learningRate;
  const l2 = options.l2 ?? TRAIN_DEFAULTS.l2;
  const k = topics.length;
  const topicIndex = new Map(topics.map((t, i) => [t, i]));

  // Each topic weighs in as much as the others in total (inverse frequency), times the admin's weight.
  const counts = new Array<number>(k).fill(0);
  for (const e of examples) counts[topicIndex.get(e.topic)!]! += 1;
  const classWeight = counts.map((c, i) => (examples.length / (k * c)) * (options.topicWeights?.[topics[i]!] ?? 1));

  // A canonical order first, so the model depends on the examples and the seed, not on the order files were read in.
  const canonical = [...examples].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  const data: { x: Features; y: number }[] = canonical.map((e) => ({ x: featurize(e.text, spec), y: topicIndex.get(e.topic)! }));
  const w = new Float32Array(spec.buckets * k);
  const g2 = new Float32Array(spec.buckets * k);
  const bias = new Float64Array(k);
  const biasG2 = new Float64Array(k);
  const touched = new Uint8Array(spec.buckets);
  const random = seededRandom(seed);
  const order = data.map((_, i) => i);
  const grad = new Float64Array(k);

  for (let epoch = 1; epoch <= epochs; epoch++) {
    shuffle(order, random);
    let loss = 0;
    for (const i of order) {
      const { x, y } = data[i]!;
      const logits = Float64Array.from(bias);
      for (let j = 0; j < x.index.length; j++) {
        const base = x.index[j]! * k;
        for (let t = 0; t < k; t++) logits[t]! += x.value[j]! * w[base + t]!;
      }
      const p = softmax(logits);
      const cw = classWeight[y]!;
      loss -= cw * Math.log(Math.max(p[y]!, 1e-12));
      for (let t = 0; t < k; t++) grad[t] = cw * (p[t]! - (t === y ? 1 : 0));
      for (let t = 0; t < k; t++) {
        biasG2[t]! += grad[t]! * grad[t]!;
        bias[t]! -= (lr * grad[t]!) / Math.sqrt(biasG2[t]! + 1e-8);
      }
      for (let j = 0; j < x.index.length; j++) {
        const b = x.index[j]!;
        touched[b] = 1;
        const base = b * k;
        for (let t = 0; t < k; t++) {
          const at = base + t;
          const g = grad[t]! * x.value[j]! + l2 * w[at]!;
          g2[at]! += g * g;
          w[at]! -= (lr * g) / Math.sqrt(g2[at]! + 1e-8);
        }
      }
    }
    options.onEpoch?.(epoch, epochs, loss / data.length);
  }
  return packModel({ topics, spec, w, bias, touched, seed, examples: examples.length, options });
}

function packModel(m: {
  topics: string[];
  spec: FeatureSpec;
  w: Float32Array;
  bias: Float64Array;
  touched: Uint8Array;
  seed: number;
  examples: number;
  options: TrainOptions;
}): ModelFile {
  const k = m.topics.length;
  let max = 0;
  for (const v of m.w) if (Math.abs(v) > max) max = Math.abs(v);
  const scale = max > 0 ? max / 32767 : 1;
  const kept: number[] = [];
  for (let b = 0; b < m.touched.length; b++) {
    if (!m.touched[b]) continue;
    // Buckets whose weights all round to zero carry nothing.
    let any = false;
    for (let t = 0; t < k && !any; t++) any = Math.round(m.w[b * k + t]! / scale) !== 0;
    if (any) kept.push(b);
  }
  const q = new Int16Array(kept.length * k);
  kept.forEach((b, i) => {
    for (let t = 0; t < k; t++) q[i * k + t] = Math.round(m.w[b * k + t]! / scale);
  });
  return {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    topics: m.topics,
    // `skeleton` only when on: a spelling model's file reads like one written before the option.
    features: { buckets: m.spec.buckets, charMin: m.spec.charMin, charMax: m.spec.charMax, wordNgrams: m.spec.wordNgrams, ...(m.spec.skeleton ? { skeleton: true } : {}) },
    bias: [...m.bias].map((v) => Number(v.toFixed(6))),
    scale,
    index: encodeUint32(Uint32Array.from(kept)),
    weights: encodeInt16(q),
    trained: {
      at: (m.options.now ?? new Date()).toISOString(),
      examples: m.examples,
      seed: m.seed,
      ...(m.options.sources ? { sources: m.options.sources } : {}),
      ...(m.options.heldOut ? { heldOut: m.options.heldOut } : {}),
    },
  };
}

/**
 * Splits examples into training and held-out parts, topic by topic, so a rare topic is in both.
 * Seeded: the same examples and seed give the same split.
 */
export function splitHeldOut<E extends Example>(examples: readonly E[], fraction: number, seed: number): { train: E[]; heldOut: E[] } {
  const random = seededRandom(seed ^ 0x5eed);
  const byTopic = new Map<string, E[]>();
  for (const e of examples) byTopic.set(e.topic, [...(byTopic.get(e.topic) ?? []), e]);
  const trainSet: E[] = [];
  const heldOut: E[] = [];
  for (const topic of [...byTopic.keys()].sort()) {
    const list = shuffle([...byTopic.get(topic)!], random);
    const n = list.length < 2 ? 0 : Math.max(1, Math.round(list.length * fraction));
    heldOut.push(...list.slice(0, n));
    trainSet.push(...list.slice(n));
  }
  return { train: trainSet, heldOut };
}

export interface Evaluation {
  accuracy: number;
  perTopic: Record<string, TopicMetrics>;
  /** "expected → predicted" → count, most frequent first. */
  confusions: [string, number][];
}

/** Precision and recall per topic of labeled pairs (expected, predicted). */
export function scorePairs(pairs: readonly { expected: string; predicted: string }[]): Evaluation {
  const topics = [...new Set(pairs.flatMap((p) => [p.expected, p.predicted]))].sort();
  const perTopic: Record<string, TopicMetrics> = {};
  for (const t of topics) {
    const tp = pairs.filter((p) => p.expected === t && p.predicted === t).length;
    const predicted = pairs.filter((p) => p.predicted === t).length;
    const support = pairs.filter((p) => p.expected === t).length;
    perTopic[t] = { precision: predicted ? tp / predicted : 0, recall: support ? tp / support : 0, support };
  }
  const confusion = new Map<string, number>();
  for (const p of pairs) if (p.expected !== p.predicted) confusion.set(`${p.expected} → ${p.predicted}`, (confusion.get(`${p.expected} → ${p.predicted}`) ?? 0) + 1);
  const right = pairs.filter((p) => p.expected === p.predicted).length;
  return {
    accuracy: pairs.length ? right / pairs.length : 0,
    perTopic,
    confusions: [...confusion].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])),
  };
}

/** The model's top topic for each example, scored against its label. */
export function evaluateModel(model: TextModel, examples: readonly Example[]): Evaluation {
  return scorePairs(examples.map((e) => ({ expected: e.topic, predicted: topTopic(model.score(e.text)).topic })));
}
