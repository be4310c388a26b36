/**
 * Next-token selection from one row of logits: repetition penalty, temperature, top-k and top-p
 * (nucleus) filtering, then greedy choice or a seeded draw. Plain typed arrays, float64 math.
 */

import { defaultGenerator, type Generator } from "../util/rng.js";

/**
 * How to pick the next token. The defaults sample from the plain softmax.
 *
 * @example
 * ```ts
 * const opts: SamplingOptions = { temperature: 0.8, topK: 50, topP: 0.95, generator: new Generator(7) };
 * ```
 */
export interface SamplingOptions {
  /** Divides the logits; 0 means greedy (argmax). Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens (ties with the k-th are kept). 0 or absent: off. */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p. 1 or absent: off. */
  topP?: number;
  /** CTRL-style penalty > 1 discourages ids in `previousIds`. 1 or absent: off. */
  repetitionPenalty?: number;
  /** Ids the repetition penalty applies to (each distinct id once). */
  previousIds?: ArrayLike<number>;
  /** Generator for the draw. Default: the global default generator. */
  generator?: Generator;
}

/**
 * Repetition penalty of CTRL (Keskar et al. 2019) as Hugging Face applies it: for each distinct
 * previous id, a positive logit is divided by `penalty` and a negative one multiplied by it.
 * Returns a float64 copy.
 *
 * @example
 * ```ts
 * applyRepetitionPenalty(new Float32Array([2, -1, 3]), [0, 1], 2); // [1, -2, 3]
 * ```
 */
export function applyRepetitionPenalty(
  logits: ArrayLike<number>,
  previousIds: ArrayLike<number>,
  penalty: number,
): Float64Array {
  if (!(penalty > 0)) throw new Error(`repetitionPenalty must be > 0, got ${penalty}`);
  const out = Float64Array.from(logits);
  if (penalty === 1) return out;
  const seen = new Set<number>();
  for (let i = 0; i < previousIds.length; i++) {
    const id = previousIds[i];
    if (seen.has(id) || !(id >= 0 && id < out.length)) continue;
    seen.add(id);
    out[id] = out[id] < 0 ? out[id] * penalty : out[id] / penalty;
  }
  return out;
}

/** Index of the largest value (first one on ties); throws on NaN or when all are −∞. */
function argmax(x: ArrayLike<number>): number {
  let best = -1;
  let bestVal = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (Number.isNaN(v)) throw new Error(`sampling: logit ${i} is NaN`);
    if (v > bestVal) {
      bestVal = v;
      best = i;
    }
  }
  if (best < 0) throw new Error("sampling: every logit is -Infinity (or the row is empty)");
  return best;
}

/** Median of three, as a deterministic pivot. */
function median3(a: number, b: number, c: number): number {
  return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
}

/**
 * Three-way partition of a[lo, hi) around `pivot`, descending: returns [g, e] with a[lo, g) >
 * pivot, a[g, e) = pivot, a[e, hi) < pivot.
 */
function partition3(a: Float64Array, lo: number, hi: number, pivot: number): [number, number] {
  let g = lo;
  let i = lo;
  let lt = hi;
  while (i < lt) {
    const v = a[i];
    if (v > pivot) {
      a[i] = a[g];
      a[g++] = v;
      i++;
    } else if (v < pivot) {
      a[i] = a[--lt];
      a[lt] = v;
    } else i++;
  }
  return [g, lt];
}

/** The k-th largest value (1-based) by quickselect, O(n) expected; reorders `a`. */
function kthLargest(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length;
  for (;;) {
    const pivot = median3(a[lo], a[(lo + hi) >> 1], a[hi - 1]);
    const [g, e] = partition3(a, lo, hi, pivot);
    if (k <= g - lo) hi = g;
    else if (k <= e - lo) return pivot;
    else {
      k -= e - lo;
      lo = e;
    }
  }
}

/**
 * Where the nucleus ends: taking values from the largest down, the value at which the running
 * sum first reaches `need`, and how many values that takes. Weighted quickselect, O(n)
 * expected; reorders `values`. When rounding keeps the total below `need`, everything is kept.
 */
function nucleusBoundary(values: Float64Array, need: number): { boundary: number; count: number } {
  let lo = 0;
  let hi = values.length;
  let above = 0; // mass of the values known to be larger than every value in [lo, hi)
  let count = 0;
  while (lo < hi) {
    const pivot = median3(values[lo], values[(lo + hi) >> 1], values[hi - 1]);
    const [g, e] = partition3(values, lo, hi, pivot);
    let massG = 0;
    for (let i = lo; i < g; i++) massG += values[i];
    if (above + massG >= need) {
      hi = g;
      continue;
    }
    above += massG;
    count += g - lo;
    for (let i = g; i < e; i++) {
      above += pivot;
      count++;
      if (above >= need) return { boundary: pivot, count };
    }
    lo = e;
  }
  return { boundary: Number.NEGATIVE_INFINITY, count: values.length };
}

/**
 * The distribution {@link sampleNext} draws from (float64, sums to 1, zeros where filtered), for
 * `temperature > 0`. Order as in Hugging Face: repetition penalty, temperature, top-k, top-p.
 *
 * @example
 * ```ts
 * samplingProbabilities(new Float32Array([0, Math.log(3)]), {}); // [0.25, 0.75]
 * samplingProbabilities(new Float32Array([0, 1, 2]), { topK: 1 }); // [0, 0, 1]
 * ```
 */
export function samplingProbabilities(logits: ArrayLike<number>, opts: SamplingOptions = {}): Float64Array {
  const temperature = opts.temperature ?? 1;
  if (!(temperature > 0) || !Number.isFinite(temperature)) {
    throw new Error(`samplingProbabilities: temperature must be finite and > 0, got ${temperature}`);
  }
  const x = applyRepetitionPenalty(logits, opts.previousIds ?? [], opts.repetitionPenalty ?? 1);
  const n = x.length;
  const max = x[argmax(x)];
  // Softmax of x / T (+∞ logits share all the mass).
  const probs = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e =
      max === Number.POSITIVE_INFINITY ? (x[i] === max ? 1 : 0) : Math.exp((x[i] - max) / temperature);
    probs[i] = e;
    sum += e;
  }
  for (let i = 0; i < n; i++) probs[i] /= sum;

  const topK = opts.topK ?? 0;
  const topP = opts.topP ?? 1;
  if (!Number.isInteger(topK) || topK < 0)
    throw new Error(`topK must be a non-negative integer, got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw new Error(`topP must be in (0, 1], got ${topP}`);
  if ((topK === 0 || topK >= n) && topP === 1) return probs;

  // Top-k: keep every index at least as likely as the k-th most likely (ties kept).
  let floor = Number.MIN_VALUE;
  if (topK > 0 && topK < n) floor = Math.max(floor, kthLargest(Float64Array.from(probs), topK));
  const survivors = new Int32Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) if (probs[i] >= floor) survivors[m++] = i;
  // Top-p over the survivors (renormalised): the shortest most-likely prefix reaching topP;
  // among equal probabilities at the boundary, lower indices go first.
  let boundary = floor;
  let ties = Number.POSITIVE_INFINITY;
  if (topP < 1) {
    const values = new Float64Array(m);
    let mass = 0;
    for (let j = 0; j < m; j++) mass += values[j] = probs[survivors[j]];
    const nb = nucleusBoundary(values, topP * mass);
    if (nb.boundary !== Number.NEGATIVE_INFINITY) {
      boundary = nb.boundary;
      ties = nb.count;
      for (let j = 0; j < m; j++) if (probs[survivors[j]] > boundary) ties--;
    }
  }
  const out = new Float64Array(n);
  let kept = 0;
  for (let j = 0; j < m; j++) {
    const i = survivors[j];
    const q = probs[i];
    if (q > boundary || (q === boundary && ties-- > 0)) {
      out[i] = q;
      kept += q;
    }
  }
  for (let j = 0; j < m; j++) out[survivors[j]] /= kept;
  return out;
}

/**
 * Draws an index from a probability vector with one uniform from `generator` (inverse CDF).
 *
 * @example
 * ```ts
 * sampleFromProbabilities([0.1, 0.9], new Generator(0)); // 1 most of the time
 * ```
 */
export function sampleFromProbabilities(
  probs: ArrayLike<number>,
  generator: Generator = defaultGenerator,
): number {
  const u = generator.random();
  let cum = 0;
  let last = -1;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] <= 0) continue;
    cum += probs[i];
    last = i;
    if (u < cum) return i;
  }
  if (last < 0) throw new Error("sampleFromProbabilities: no index has positive probability");
  return last; // rounding left the total just below 1
}

/**
 * Picks the next token id from a row of logits: argmax when `temperature` is 0 (after the
 * repetition penalty), otherwise a draw from {@link samplingProbabilities} using one uniform
 * from the generator.
 *
 * @example
 * ```ts
 * const logits = new Float32Array([1, 3, 2]);
 * sampleNext(logits, { temperature: 0 }); // 1
 * sampleNext(logits, { temperature: 0.7, topK: 2, generator: new Generator(42) }); // 1 or 2
 * ```
 */
export function sampleNext(logits: ArrayLike<number>, opts: SamplingOptions = {}): number {
  if ((opts.temperature ?? 1) === 0) {
    const x = applyRepetitionPenalty(logits, opts.previousIds ?? [], opts.repetitionPenalty ?? 1);
    return argmax(x);
  }
  return sampleFromProbabilities(samplingProbabilities(logits, opts), opts.generator ?? defaultGenerator);
}
