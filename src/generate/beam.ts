/**
 * Beam search (and greedy search) over a step function that scores a batch of prefixes at once,
 * following Hugging Face's BeamSearchScorer: 2·beamSize candidates per step, finished hypotheses
 * ranked by length-normalised log-probability, stop when no running beam can win. It drives a
 * {@link StepModel} (reordering its state as beams are chosen) or a bare step function.
 */
import { isStepModel, type StepModel } from "./step.js";

/**
 * What the step function learns besides the prefixes.
 *
 * @example
 * ```ts
 * const step: BeamStepFn = (prefixes, { parents }) => { cache.reorder(parents); return decoder.step(prefixes); };
 * ```
 */
export interface BeamStepContext {
  /** 0 for the first call (a single prefix `[bos]`), then 1, 2, … */
  step: number;
  /**
   * For each prefix, the row of the previous call's prefixes that it extends by its last id
   * (`[0]` on the first call). A model with a per-beam cache reorders it with this, like
   * Hugging Face's `_reorder_cache`; a model that recomputes from the prefixes can ignore it.
   */
  parents: readonly number[];
}

/**
 * Scores the next token for a batch of prefixes (each starts with `bos`). Returns one row of
 * logits or log-probabilities per prefix, either as an array of rows or one flat (B·V) array;
 * rows are log-softmaxed here, so either works. An encoder-decoder plugs in by closing over its
 * encoder output and running the decoder on the prefixes.
 *
 * @example
 * ```ts
 * const memory = model.encode(src);
 * const step: BeamStepFn = (prefixes) => prefixes.map((p) => model.decodeLast(memory, p));
 * ```
 */
export type BeamStepFn = (
  prefixes: readonly (readonly number[])[],
  ctx: BeamStepContext,
) => Float32Array | Float64Array | ArrayLike<number>[];

/**
 * Options for {@link beamSearch} and {@link greedySearch}.
 *
 * @example
 * ```ts
 * const opts: BeamSearchOptions = { beamSize: 4, maxLen: 32, bos: 1, eos: 2, lengthPenalty: 1 };
 * ```
 */
export interface BeamSearchOptions {
  /** Beams kept per step (also the number of hypotheses returned). */
  beamSize: number;
  /** Most generated tokens per hypothesis, EOS included. */
  maxLen: number;
  /** Start id: every prefix begins with it. */
  bos: number;
  /** End id: a hypothesis finishes when it is chosen. */
  eos: number;
  /**
   * Hypotheses are ranked by `sum log p / length ** lengthPenalty`, length counting generated
   * tokens with EOS. > 0 favours longer outputs, 0 ranks by raw log-probability. Default 1.
   */
  lengthPenalty?: number;
  /**
   * Hugging Face's stopping rule (transformers ≥ 4.50's `_beam_search`), and with it HF's
   * semantics throughout: `true` stops as soon as `beamSize` hypotheses are finished; `false`
   * stops when the best running beam, normalised at its current length, cannot beat the worst
   * finished one; `"never"` uses the most favourable length (maxLen when lengthPenalty > 0). With
   * any of these, candidates reaching maxLen are finished hypotheses (as HF's max-length
   * criterion) and scores are accumulated in float32 as HF's are. Unset: qkv's earlier rule
   * (a "never"-like bound at the next length; running beams are returned at maxLen).
   */
  earlyStopping?: boolean | "never";
  /**
   * Changes a row of next-token log-probabilities in place before candidates are chosen (HF's
   * logits processors: n-gram blocking, min length, forced tokens). `prefix` starts with bos.
   */
  processLogProbs?: (logProbs: Float64Array, prefix: readonly number[]) => void;
  /** More end ids besides `eos` (HF's list-valued eos_token_id). */
  moreEos?: readonly number[];
}

/**
 * One finished hypothesis.
 *
 * @example
 * ```ts
 * const [best] = beamSearch(step, opts); best.ids; // e.g. [5, 9, 7]
 * ```
 */
export interface BeamHypothesis {
  /** Generated ids, without BOS and without EOS. */
  ids: number[];
  /** Sum of the log-probabilities of the generated tokens (EOS included when it ended). */
  logProb: number;
  /** `logProb / length ** lengthPenalty`, the ranking key. */
  score: number;
  /** True when the hypothesis ended with EOS, false when it hit maxLen. */
  finished: boolean;
  /** The EOS id it ended with (set by the Hugging Face mode, where several may be given). */
  eosId?: number;
}

interface Beam {
  ids: number[]; // with bos
  logProb: number;
}

/** Log-softmax of every row, in float64. */
function logSoftmaxRows(
  out: Float32Array | Float64Array | ArrayLike<number>[],
  rows: number,
): { rowsLp: Float64Array[]; vocab: number } {
  let raw: ArrayLike<number>[];
  if (Array.isArray(out)) raw = out;
  else {
    const flat = out as Float32Array | Float64Array;
    if (flat.length % rows !== 0)
      throw new Error(`beam search: step returned ${flat.length} values for ${rows} prefixes`);
    const v = flat.length / rows;
    raw = Array.from({ length: rows }, (_, r) => flat.subarray(r * v, (r + 1) * v));
  }
  if (raw.length !== rows)
    throw new Error(`beam search: step returned ${raw.length} rows for ${rows} prefixes`);
  const vocab = raw[0].length;
  if (vocab === 0) throw new Error("beam search: step returned empty rows");
  const rowsLp = raw.map((row) => {
    if (row.length !== vocab) throw new Error("beam search: step returned rows of different lengths");
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < vocab; i++) {
      if (Number.isNaN(row[i])) throw new Error(`beam search: logit ${i} is NaN`);
      if (row[i] > max) max = row[i];
    }
    let sum = 0;
    for (let i = 0; i < vocab; i++) sum += Math.exp(row[i] - max);
    const lse = max + Math.log(sum);
    const lp = new Float64Array(vocab);
    for (let i = 0; i < vocab; i++) lp[i] = row[i] - lse;
    return lp;
  });
  return { rowsLp, vocab };
}

/**
 * A step function over a {@link StepModel}: its state starts with the one `[bos]` row, is
 * reordered to the chosen beams' parents, and is fed each prefix's last id.
 */
function stepFnOf<S>(model: BeamStepFn | StepModel<S>, needReorder: boolean): BeamStepFn {
  if (!isStepModel<S>(model)) return model as BeamStepFn;
  const m = model as StepModel<S>;
  if (needReorder && !m.reorder)
    throw new Error("beamSearch: the model cannot reorder its state (no reorder)");
  let state: S | undefined;
  let rows = 0;
  return (prefixes, { step, parents }) => {
    if (step === 0 || state === undefined) {
      rows = prefixes.length;
      state = m.init(rows);
      return m.step(prefixes, state);
    }
    const identity = parents.length === rows && parents.every((p, i) => p === i);
    if (!identity) m.reorder?.(state, parents); // greedy search never reorders
    rows = parents.length;
    return m.step(
      prefixes.map((p) => [p[p.length - 1]]),
      state,
    );
  };
}

function checkOptions(what: string, opts: BeamSearchOptions): void {
  if (!Number.isInteger(opts.beamSize) || opts.beamSize < 1) {
    throw new Error(`${what}: beamSize must be a positive integer, got ${opts.beamSize}`);
  }
  if (!Number.isInteger(opts.maxLen) || opts.maxLen < 1) {
    throw new Error(`${what}: maxLen must be a positive integer, got ${opts.maxLen}`);
  }
}

/**
 * Beam search. Each step extends every running beam by every token, keeps the `2·beamSize` best
 * candidates, moves those ending in EOS (when ranked within the first `beamSize`) to the
 * finished set and continues with the best `beamSize` others. It stops once `beamSize`
 * hypotheses are finished and no running beam can still beat the worst of them, or at `maxLen`
 * (running beams then count as hypotheses). Returns up to `beamSize` hypotheses, best first.
 * With `beamSize` 1 (and no `earlyStopping`) this is {@link greedySearch}, whatever the length
 * penalty (as in Hugging Face, where one beam means greedy decoding).
 *
 * @example
 * ```ts
 * const memory = model.encode(src);
 * const [best] = beamSearch((prefixes) => prefixes.map((p) => model.decodeLast(memory, p)), {
 *   beamSize: 4, maxLen: 20, bos: 1, eos: 2,
 * });
 * tok.decode(best.ids);
 * ```
 */
export function beamSearch<S>(model: BeamStepFn | StepModel<S>, opts: BeamSearchOptions): BeamHypothesis[] {
  checkOptions("beamSearch", opts);
  const step = stepFnOf(model, opts.beamSize > 1);
  if (opts.beamSize === 1 && opts.earlyStopping === undefined) return [greedySearch(step, opts)];
  const { beamSize, maxLen, bos, eos } = opts;
  const lp = opts.lengthPenalty ?? 1;
  const hf = opts.earlyStopping !== undefined;
  // HF keeps scores in float32; qkv's own rule keeps float64.
  const f32 = hf ? Math.fround : (x: number) => x;
  const norm = (logProb: number, len: number): number => f32(logProb / f32(len ** lp));
  const eosIds = new Set([eos, ...(opts.moreEos ?? [])]);
  // HF gathers (1 + #eos)·beamSize candidates (at least 2·beamSize) so that beamSize survive the EOS ones.
  const keep = Math.max(2, hf ? 1 + eosIds.size : 2) * beamSize;
  const finished: BeamHypothesis[] = [];
  const addFinished = (h: BeamHypothesis): void => {
    finished.push(h);
    finished.sort((a, b) => b.score - a.score);
    if (finished.length > beamSize) finished.pop();
  };

  let beams: Beam[] = [{ ids: [bos], logProb: 0 }];
  let parents: number[] = [0];
  for (let t = 0; t < maxLen; t++) {
    const { rowsLp, vocab } = logSoftmaxRows(
      step(
        beams.map((b) => b.ids),
        { step: t, parents },
      ),
      beams.length,
    );
    if (hf) for (const row of rowsLp) for (let v = 0; v < vocab; v++) row[v] = Math.fround(row[v]);
    const process = opts.processLogProbs;
    if (process) for (let b = 0; b < beams.length; b++) process(rowsLp[b], beams[b].ids);
    // Best `keep` (beam, token) candidates; ties go to the lower beam, then lower token.
    const want = Math.min(keep, beams.length * vocab);
    const cand: { beam: number; token: number; logProb: number }[] = [];
    for (let b = 0; b < beams.length; b++) {
      const row = rowsLp[b];
      for (let v = 0; v < vocab; v++) {
        const s = f32(beams[b].logProb + row[v]);
        if (s === Number.NEGATIVE_INFINITY) continue;
        if (cand.length === want && s <= cand[want - 1].logProb) continue;
        let at = cand.length;
        while (at > 0 && cand[at - 1].logProb < s) at--;
        cand.splice(at, 0, { beam: b, token: v, logProb: s });
        if (cand.length > want) cand.pop();
      }
    }
    const next: Beam[] = [];
    const nextParents: number[] = [];
    // HF: every candidate of the last step meets the max-length criterion and may finish.
    const last = hf && t + 1 === maxLen;
    // HF: with early stopping, a full set of finished hypotheses takes no more.
    const closed = opts.earlyStopping === true && finished.length >= beamSize;
    for (let rank = 0; rank < cand.length && (next.length < beamSize || last); rank++) {
      const c = cand[rank];
      const ids = [...beams[c.beam].ids, c.token];
      const isEos = eosIds.has(c.token);
      if (isEos || last) {
        if (rank < beamSize && !closed) {
          const len = ids.length - 1;
          addFinished({
            ids: isEos ? ids.slice(1, -1) : ids.slice(1),
            logProb: c.logProb,
            score: norm(c.logProb, len),
            finished: isEos,
            ...(hf && isEos ? { eosId: c.token } : {}),
          });
        }
        continue;
      }
      next.push({ ids, logProb: c.logProb });
      nextParents.push(c.beam);
    }
    beams = next;
    parents = nextParents;
    if (beams.length === 0 || last) break;
    if (hf && finished.length >= beamSize) {
      if (opts.earlyStopping === true) break;
      // HF's heuristic: the best running beam at its current length (or at maxLen for "never"
      // with a positive length penalty) against the worst finished hypothesis.
      const cur = t + 1;
      const bestLen = opts.earlyStopping === "never" && lp > 0 ? maxLen : cur;
      if (!(norm(beams[0].logProb, bestLen) > finished[finished.length - 1].score)) break;
    } else if (finished.length >= beamSize) {
      // The best any running beam can still reach: log-probs only fall, so its score is
      // bounded by its current sum over the most favourable length.
      const cur = beams[0].ids.length - 1; // generated so far
      const best = Math.max(...beams.map((b) => b.logProb));
      const bestLen = lp > 0 ? maxLen : cur + 1;
      if (finished[finished.length - 1].score >= norm(best, bestLen)) {
        beams = [];
        break;
      }
    }
  }
  for (const b of hf ? [] : beams) {
    addFinished({
      ids: b.ids.slice(1),
      logProb: b.logProb,
      score: norm(b.logProb, b.ids.length - 1),
      finished: false,
    });
  }
  return finished;
}

/**
 * Greedy decoding with the same step interface as {@link beamSearch}: one prefix, argmax each
 * step, until EOS or `maxLen` (`beamSize` and `lengthPenalty` are ignored).
 *
 * @example
 * ```ts
 * const out = greedySearch(step, { beamSize: 1, maxLen: 20, bos: 1, eos: 2 });
 * ```
 */
export function greedySearch<S>(model: BeamStepFn | StepModel<S>, opts: BeamSearchOptions): BeamHypothesis {
  checkOptions("greedySearch", { ...opts, beamSize: 1 });
  const step = stepFnOf(model, false);
  const lp = opts.lengthPenalty ?? 1;
  const ids = [opts.bos];
  let logProb = 0;
  for (let t = 0; t < opts.maxLen; t++) {
    const [row] = logSoftmaxRows(step([ids], { step: t, parents: [0] }), 1).rowsLp;
    let best = 0;
    for (let v = 1; v < row.length; v++) if (row[v] > row[best]) best = v;
    logProb += row[best];
    if (best === opts.eos) {
      return { ids: ids.slice(1), logProb, score: logProb / ids.length ** lp, finished: true };
    }
    ids.push(best);
  }
  return { ids: ids.slice(1), logProb, score: logProb / (ids.length - 1) ** lp, finished: false };
}
