/**
 * The model-agnostic step interface that every decoding loop here drives (sampling, greedy,
 * beam search): a batch of rows, each fed its new ids, returning each row's next-token logits.
 * Models implement it through the adapters in models.ts; they never import src/generate.
 */

/**
 * Logits of the last position of every row, row-major: rows · V values.
 * @example const row1 = logits.subarray(V, 2 * V);
 */
export type StepLogits = Float32Array | Float64Array;

/**
 * A model the decoding loops can drive. `init(rows)` makes the decoding state for `rows`
 * sequences (for a transformer, its key/value cache); `step(newIds, state)` appends `newIds[r]`
 * to row r (the whole prompt on the first call, then one id per call) and returns the logits
 * of each row's last position. `reorder(state, index)` keeps rows `index` in that order, so beam
 * search can continue the beams it chose (the number of rows may change); a model without it
 * can only be sampled or searched greedily.
 *
 * @example
 * ```ts
 * const bigram: StepModel<number[]> = {
 *   init: () => [],
 *   step: (newIds, last) => { last[0] = newIds[0].at(-1)!; return table[last[0]]; },
 * };
 * ```
 */
export interface StepModel<S = unknown> {
  /** Makes the decoding state for `rows` sequences (for a transformer, its key/value cache). */
  init(rows: number): S;
  /** Appends `newIds[r]` to row r and returns the logits of each row's last position, rows concatenated. */
  step(newIds: readonly (readonly number[])[], state: S): StepLogits;
  /** Keeps rows `index` of the state, in that order (beam search); optional. */
  reorder?(state: S, index: readonly number[]): void;
}

/**
 * {@link StepModel} whose step may be asynchronous (a worker, a GPU queue), for `generateAsync`.
 * @example const model: AsyncStepModel = { init: () => ({}), step: async (ids) => worker.step(ids) };
 */
export interface AsyncStepModel<S = unknown> {
  /** Makes the decoding state for `rows` sequences. */
  init(rows: number): S;
  /** As {@link StepModel.step}, possibly asynchronous. */
  step(newIds: readonly (readonly number[])[], state: S): StepLogits | Promise<StepLogits>;
  /** Keeps rows `index` of the state, in that order (beam search); optional. */
  reorder?(state: S, index: readonly number[]): void;
}

/**
 * One sequence's model: `nextLogits(newIds, state)` appends `newIds` to the sequence held in
 * `state` and returns the logits of its last position. `generate` accepts it as a one-row
 * {@link StepModel}, with `state` from its `state` option.
 *
 * @example
 * ```ts
 * const model: NextTokenModel<{ history: number[] }> = {
 *   nextLogits: (newIds, s) => { s.history.push(...newIds); return lastLogits(s.history); },
 * };
 * ```
 */
export interface NextTokenModel<S = unknown> {
  /** Appends `newIds` to the sequence in `state` and returns the logits of its last position. */
  nextLogits(newIds: number[], state: S): StepLogits;
}

/**
 * Async variant of {@link NextTokenModel}, for `generateAsync`.
 * @example const model: AsyncNextTokenModel = { nextLogits: async (ids, s) => worker.step(ids, s) };
 */
export interface AsyncNextTokenModel<S = unknown> {
  /** As {@link NextTokenModel.nextLogits}, possibly asynchronous. */
  nextLogits(newIds: number[], state: S): StepLogits | Promise<StepLogits>;
}

/**
 * A one-sequence model given as a bare step function `(newIds, state) → logits of the last position`.
 * @example const step: NextLogitsFn<number[]> = (ids, history) => { history.push(...ids); return bigram[history.at(-1)!]; };
 */
export type NextLogitsFn<S = unknown> = (newIds: number[], state: S) => StepLogits;

/** True for a {@link StepModel} (as opposed to a one-sequence model or function). */
export function isStepModel<S>(m: unknown): m is AsyncStepModel<S> {
  return typeof m === "object" && m !== null && "init" in m && "step" in m;
}

/**
 * A one-sequence model (object or function) as a one-row {@link StepModel} whose state is `state`.
 * @example asStepModel((ids, s) => logitsOf(ids), {}).step([[1, 2]], {})
 */
export function asStepModel<S>(
  model: AsyncNextTokenModel<S> | ((newIds: number[], state: S) => StepLogits | Promise<StepLogits>),
  state: S,
): AsyncStepModel<S> {
  const next = typeof model === "function" ? model : (ids: number[], s: S) => model.nextLogits(ids, s);
  return {
    init(rows) {
      if (rows !== 1) throw new Error(`a one-sequence model cannot decode ${rows} rows at once`);
      return state;
    },
    step: (newIds, s) => next([...newIds[0]], s),
  };
}
