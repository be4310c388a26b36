/**
 * Autoregressive text generation against a model-agnostic step interface: feed new ids, get
 * the logits of the last position. Stops on a token budget, an EOS id or a stop string, and
 * streams ids and text as they are produced. Sync and async drivers share one state machine.
 */

import { type SamplingOptions, sampleNext } from "./sampling.js";

/**
 * What {@link generate} needs from a language model. `nextLogits(newIds, state)` appends
 * `newIds` to the sequence held in `state` (the whole prompt on the first call, then one sampled
 * id per call) and returns the logits of the last position, one per vocabulary entry.
 *
 * `state` is whatever the model keeps between calls: for a GPT with a KV cache, the cache; it is
 * created by the caller (option `state`) and passed back verbatim. Cropping to the model's
 * context window is the model's business; {@link recomputingModel} shows the nanoGPT way.
 *
 * @example
 * ```ts
 * const model: NextTokenModel<KVCache> = {
 *   nextLogits: (newIds, cache) => gpt.forwardCached(newIds, cache), // logits of the last position
 * };
 * ```
 */
export interface NextTokenModel<S = unknown> {
  nextLogits(newIds: number[], state: S): Float32Array | Float64Array;
}

/**
 * Async variant of {@link NextTokenModel}, for {@link generateAsync}.
 *
 * @example
 * ```ts
 * const model: AsyncNextTokenModel = { nextLogits: async (ids, s) => worker.step(ids, s) };
 * ```
 */
export interface AsyncNextTokenModel<S = unknown> {
  nextLogits(newIds: number[], state: S): Float32Array | Float64Array | Promise<Float32Array | Float64Array>;
}

/**
 * A model given as a bare step function `(newIds, state) → logits of the last position`.
 *
 * @example
 * ```ts
 * const step: NextLogitsFn<number[]> = (ids, history) => { history.push(...ids); return bigram[history.at(-1)!]; };
 * ```
 */
export type NextLogitsFn<S = unknown> = (newIds: number[], state: S) => Float32Array | Float64Array;

/**
 * Why generation ended: the token budget, an EOS id, a stop string, or `onToken` returning false.
 *
 * @example
 * ```ts
 * if (result.finishReason === "length") console.log("truncated");
 * ```
 */
export type FinishReason = "length" | "eos" | "stop" | "callback";

/**
 * Options for {@link generate}, on top of the {@link SamplingOptions} (whose `previousIds`
 * is replaced by prompt + generated ids).
 *
 * @example
 * ```ts
 * const opts: GenerateOptions = { maxNewTokens: 200, temperature: 0.8, topK: 40, decode: (ids) => tok.decode(ids) };
 * ```
 */
export interface GenerateOptions<S = unknown> extends Omit<SamplingOptions, "previousIds"> {
  /** Most tokens to generate. */
  maxNewTokens: number;
  /** Stop (without emitting it) when one of these ids is sampled. */
  eosId?: number | readonly number[];
  /** Stop when the generated text contains one of these; the text is cut before it. Needs `decode`. */
  stopStrings?: readonly string[];
  /** Ids → text, for `text`, `onText` and stop strings. */
  decode?: (ids: number[]) => string;
  /** Called with each generated id (never EOS) and its 0-based index; return `false` to stop. */
  onToken?: (id: number, index: number) => unknown;
  /**
   * Streamed text: each call gets the next piece, and the pieces concatenate to the final
   * `text`. Text that might begin a stop string, or an unfinished UTF-8 character (a trailing
   * U+FFFD), is held back until it is settled.
   */
  onText?: (delta: string) => void;
  /** Model state passed to every `nextLogits` call (e.g. a fresh KV cache). Default `{}`. */
  state?: S;
}

/**
 * Options for {@link generateAsync}: callbacks may return promises, which are awaited.
 *
 * @example
 * ```ts
 * const opts: GenerateAsyncOptions = { maxNewTokens: 50, onText: async (t) => { ui.append(t); await tick(); } };
 * ```
 */
export interface GenerateAsyncOptions<S = unknown> extends Omit<GenerateOptions<S>, "onToken" | "onText"> {
  onToken?: (id: number, index: number) => unknown;
  onText?: (delta: string) => void | Promise<void>;
}

/**
 * The outcome of {@link generate}.
 *
 * @example
 * ```ts
 * const { ids, text, finishReason } = generate(model, prompt, { maxNewTokens: 20, decode });
 * ```
 */
export interface GenerateResult {
  /**
   * Generated ids, without the prompt and without EOS. On a stop string this includes the
   * token(s) that completed it; `text` is what is cut.
   */
  ids: number[];
  /** Decoded generated text, cut before the first stop string ("" without `decode`). */
  text: string;
  finishReason: FinishReason;
  /** The stop string that ended generation, when finishReason is "stop". */
  stopString?: string;
}

/** Length of the longest suffix of `text` that is a proper prefix of some stop string. */
function partialStopLength(text: string, stops: readonly string[]): number {
  let best = 0;
  for (const stop of stops) {
    for (let len = Math.min(stop.length - 1, text.length); len > best; len--) {
      if (text.endsWith(stop.slice(0, len))) {
        best = len;
        break;
      }
    }
  }
  return best;
}

/** The per-run bookkeeping shared by the sync and async drivers. */
class Run {
  readonly generated: number[] = [];
  readonly history: number[];
  readonly eos: Set<number>;
  readonly stops: readonly string[];
  text = "";
  emitted = 0;
  finish: FinishReason | null = null;
  stopString: string | undefined;

  constructor(
    promptIds: readonly number[],
    readonly opts: GenerateOptions<unknown> | GenerateAsyncOptions<unknown>,
  ) {
    if (!Number.isInteger(opts.maxNewTokens) || opts.maxNewTokens < 0) {
      throw new Error(`generate: maxNewTokens must be a non-negative integer, got ${opts.maxNewTokens}`);
    }
    if (promptIds.length === 0) throw new Error("generate: the prompt must hold at least one id");
    this.stops = (opts.stopStrings ?? []).filter((s) => s.length > 0);
    if (this.stops.length > 0 && !opts.decode)
      throw new Error("generate: stopStrings need a decode function");
    const eos = opts.eosId;
    this.eos = new Set(eos === undefined ? [] : typeof eos === "number" ? [eos] : eos);
    this.history = [...promptIds];
    if (opts.maxNewTokens === 0) this.finish = "length";
  }

  /** Chooses the next id from the logits; returns it, or null when generation is over. */
  choose(logits: ArrayLike<number>): number | null {
    const id = sampleNext(logits, { ...this.opts, previousIds: this.history });
    if (this.eos.has(id)) {
      this.finish = "eos";
      return null;
    }
    this.generated.push(id);
    this.history.push(id);
    return id;
  }

  /** Updates text and stop state after `id` was accepted; returns the text that is now safe to stream. */
  advance(): string {
    const decode = this.opts.decode;
    if (!decode) {
      if (this.generated.length >= this.opts.maxNewTokens) this.finish = "length";
      return "";
    }
    const full = decode(this.generated);
    let cut = -1;
    for (const stop of this.stops) {
      const at = full.indexOf(stop);
      if (at >= 0 && (cut < 0 || at < cut)) {
        cut = at;
        this.stopString = stop;
      }
    }
    if (cut >= 0) {
      this.text = full.slice(0, cut);
      this.finish = "stop";
    } else this.text = full;
    if (this.generated.length >= this.opts.maxNewTokens && this.finish === null) this.finish = "length";
    let safe = this.text.length;
    if (this.finish === null) {
      safe -= partialStopLength(this.text, this.stops);
      while (safe > 0 && this.text.charCodeAt(safe - 1) === 0xfffd) safe--;
    }
    return this.take(safe);
  }

  /** Marks text up to `end` as emitted and returns the new part. */
  take(end: number): string {
    if (end <= this.emitted) return "";
    const piece = this.text.slice(this.emitted, end);
    this.emitted = end;
    return piece;
  }

  result(): GenerateResult {
    const out: GenerateResult = {
      ids: this.generated,
      text: this.text,
      finishReason: this.finish ?? "length",
    };
    if (this.finish === "stop") out.stopString = this.stopString;
    return out;
  }
}

function stepOf<S>(model: NextTokenModel<S> | NextLogitsFn<S>): NextLogitsFn<S> {
  return typeof model === "function" ? model : (ids, state) => model.nextLogits(ids, state);
}

/**
 * Generates up to `maxNewTokens` ids after `promptIds`. Each step samples with
 * {@link sampleNext} (the repetition penalty sees prompt + generated ids) and stops early on an
 * EOS id, a stop string, or `onToken` returning false.
 *
 * @example
 * ```ts
 * const { text } = generate(model, tok.encode("ROMEO:"), {
 *   maxNewTokens: 100, temperature: 0.8, topK: 40, generator: new Generator(1337),
 *   decode: (ids) => tok.decode(ids), stopStrings: ["\n\n"], onText: (t) => process.stdout.write(t),
 * });
 * ```
 */
export function generate<S = Record<string, unknown>>(
  model: NextTokenModel<S> | NextLogitsFn<S>,
  promptIds: readonly number[],
  opts: GenerateOptions<S>,
): GenerateResult {
  const run = new Run(promptIds, opts as GenerateOptions<unknown>);
  const step = stepOf(model);
  const state = (opts.state ?? {}) as S;
  let feed = [...promptIds];
  while (run.finish === null) {
    const id = run.choose(step(feed, state));
    if (id === null) break;
    const stopByCallback = opts.onToken?.(id, run.generated.length - 1) === false;
    const piece = run.advance();
    if (piece) opts.onText?.(piece);
    if (stopByCallback && run.finish === null) run.finish = "callback";
    feed = [id];
  }
  const rest = run.take(run.text.length);
  if (rest) opts.onText?.(rest);
  return run.result();
}

/**
 * {@link generate} for models whose step or callbacks are asynchronous (a worker, a GPU queue,
 * a UI that must repaint between tokens). Same results for the same inputs and seed.
 *
 * @example
 * ```ts
 * const result = await generateAsync(workerModel, prompt, { maxNewTokens: 64, decode, onText: show });
 * ```
 */
export async function generateAsync<S = Record<string, unknown>>(
  model:
    | AsyncNextTokenModel<S>
    | ((newIds: number[], state: S) => ReturnType<AsyncNextTokenModel<S>["nextLogits"]>),
  promptIds: readonly number[],
  opts: GenerateAsyncOptions<S>,
): Promise<GenerateResult> {
  const run = new Run(promptIds, opts as GenerateAsyncOptions<unknown>);
  const step = typeof model === "function" ? model : (ids: number[], s: S) => model.nextLogits(ids, s);
  const state = (opts.state ?? {}) as S;
  let feed = [...promptIds];
  while (run.finish === null) {
    const id = run.choose(await step(feed, state));
    if (id === null) break;
    const stopByCallback = (await opts.onToken?.(id, run.generated.length - 1)) === false;
    const piece = run.advance();
    if (piece) await opts.onText?.(piece);
    if (stopByCallback && run.finish === null) run.finish = "callback";
    feed = [id];
  }
  const rest = run.take(run.text.length);
  if (rest) await opts.onText?.(rest);
  return run.result();
}

/**
 * Options for {@link recomputingModel}.
 *
 * @example
 * ```ts
 * const opts: RecomputingModelOptions = { contextLength: 256 };
 * ```
 */
export interface RecomputingModelOptions {
  /** Only the last `contextLength` ids are passed to `forward` (nanoGPT's crop). Default: all. */
  contextLength?: number;
}

/**
 * Adapts a cache-less forward pass (`ids → logits of the last position`) to
 * {@link NextTokenModel}: the state keeps the history and each step re-runs `forward` on the
 * last `contextLength` ids, as nanoGPT's `generate` does.
 *
 * @example
 * ```ts
 * const model = recomputingModel((ids) => lastRow(gpt.forward(tensor([ids], { dtype: "int32" }))), { contextLength: 256 });
 * generate(model, prompt, { maxNewTokens: 50, state: { history: [] } });
 * ```
 */
export function recomputingModel(
  forward: (ids: number[]) => Float32Array | Float64Array,
  opts: RecomputingModelOptions = {},
): NextTokenModel<{ history?: number[] }> {
  const ctx = opts.contextLength;
  if (ctx !== undefined && (!Number.isInteger(ctx) || ctx < 1)) {
    throw new Error(`recomputingModel: contextLength must be a positive integer, got ${ctx}`);
  }
  return {
    nextLogits(newIds, state) {
      state.history ??= [];
      state.history.push(...newIds);
      const h = state.history;
      return forward(ctx !== undefined && h.length > ctx ? h.slice(h.length - ctx) : [...h]);
    },
  };
}
