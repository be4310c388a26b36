/**
 * A minimal next-token picker for the models' `generate` helpers: greedy, or temperature /
 * top-k sampling from the seeded generator. (The full sampling suite lives in src/generate.)
 */
import { tensor } from "../tensor/create.js";
import type { Tensor } from "../tensor/tensor.js";
import { defaultGenerator, type Generator } from "../util/rng.js";
import { shapeStr } from "../util/shape.js";

/**
 * How {@link pickNextTokens} chooses.
 * @example model.generate(prompt, 50, { temperature: 0.8, topK: 40 })
 */
export interface PickOptions {
  /** 0 = greedy (argmax, first index on ties); otherwise softmax(logits / temperature). Default 1. */
  temperature?: number;
  /** Sample only among the k most likely tokens (ties with the k-th are kept). */
  topK?: number;
  generator?: Generator;
}

/**
 * Next token per batch row from last-position logits (B, 1, V) or (B, V) → (B, 1) int32.
 * @example const next = pickNextTokens(logits, { temperature: 0.8, topK: 40 });
 */
export function pickNextTokens(logits: Tensor, opts: PickOptions = {}): Tensor {
  const temperature = opts.temperature ?? 1;
  const g = opts.generator ?? defaultGenerator;
  if (!(temperature >= 0)) throw new Error(`pickNextTokens: temperature must be ≥ 0, got ${temperature}`);
  if (logits.ndim !== 2 && !(logits.ndim === 3 && logits.shape[1] === 1)) {
    throw new Error(`pickNextTokens: logits must be (B, 1, V) or (B, V), got ${shapeStr(logits.shape)}`);
  }
  const B = logits.shape[0];
  const V = logits.shape[logits.ndim - 1];
  const topK = opts.topK;
  if (topK !== undefined && !(Number.isInteger(topK) && topK > 0))
    throw new Error(`pickNextTokens: topK must be a positive integer, got ${topK}`);
  const data = logits.toArray();
  const out = new Int32Array(B);
  const p = new Float64Array(V);
  for (let b = 0; b < B; b++) {
    const row = data.subarray(b * V, (b + 1) * V);
    let best = 0;
    for (let j = 1; j < V; j++) if (row[j] > row[best]) best = j;
    if (temperature === 0) {
      out[b] = best;
      continue;
    }
    // Keep logits ≥ the k-th largest (nanoGPT's rule).
    const threshold =
      topK !== undefined && topK < V ? Float64Array.from(row).sort()[V - topK] : Number.NEGATIVE_INFINITY;
    let sum = 0;
    for (let j = 0; j < V; j++) {
      p[j] = row[j] < threshold ? 0 : Math.exp((row[j] - row[best]) / temperature);
      sum += p[j];
    }
    let u = g.random() * sum;
    let pick = best;
    for (let j = 0; j < V; j++) {
      if (p[j] === 0) continue;
      pick = j;
      u -= p[j];
      if (u < 0) break;
    }
    out[b] = pick;
  }
  return tensor(out, { shape: [B, 1] });
}
