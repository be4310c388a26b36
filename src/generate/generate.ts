/**
 * Autoregressive generation: the one decoding loop, over any {@link StepModel} and any number of
 * rows. Each step samples the next id of every row (src/generate/sampling.ts), stops a row on a
 * token budget, an EOS id or a stop string, and streams ids and text as they are produced. The
 * loop is written once, as a generator of effects; the sync and async drivers only run them.
 */

import { type SamplingOptions, sampleNext } from "./sampling.js";
import {
  type AsyncNextTokenModel,
  type AsyncStepModel,
  asStepModel,
  isStepModel,
  type NextLogitsFn,
  type NextTokenModel,
  type StepLogits,
  type StepModel,
} from "./step.js";

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
  /**
   * Called with each generated id (never EOS), its 0-based index and its row (0 for one
   * sequence); return `false` to stop that row.
   */
  onToken?: (id: number, index: number, row: number) => unknown;
  /**
   * Streamed text: each call gets the next piece, and the pieces concatenate to the final
   * `text`. Text that might begin a stop string, or an unfinished UTF-8 character (a trailing
   * U+FFFD), is held back until it is settled. `row` is 0 for one sequence.
   */
  onText?: (delta: string, row: number) => void;
  /**
   * Changes a row's next-token logits in place before the id is chosen (Hugging Face's logits
   * processors: n-gram blocking, min length, forced tokens). `ids` is the prompt plus the ids
   * generated so far; `row` is 0 for one sequence.
   */
  processLogits?: (logits: Float32Array | Float64Array, ids: readonly number[], row: number) => void;
  /** State of a `NextTokenModel`, passed to every `nextLogits` call (default `{}`); a `StepModel` keeps its own, from `init`. */
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
  /** As {@link GenerateOptions.onToken}; a returned promise is awaited before the next step. */
  onToken?: (id: number, index: number, row: number) => unknown;
  /** As {@link GenerateOptions.onText}; a returned promise is awaited before the next step. */
  onText?: (delta: string, row: number) => void | Promise<void>;
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
  /** Which of several EOS ids ended generation (set only when `eosId` lists more than one). */
  eosId?: number;
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
  /** The id this row feeds the model next (its last id, EOS included). */
  last: number;

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
    this.last = promptIds[promptIds.length - 1];
    if (opts.maxNewTokens === 0) this.finish = "length";
  }

  /** Chooses the next id from the logits; returns it, or null when generation is over. */
  choose(logits: Float32Array | Float64Array, row: number): number | null {
    this.opts.processLogits?.(logits, this.history, row);
    const id = sampleNext(logits, { ...this.opts, previousIds: this.history });
    this.last = id;
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
    if (this.finish === "eos" && this.eos.size > 1) out.eosId = this.last;
    return out;
  }
}

/** A unit of work the loop hands its driver: a model step or a callback, maybe asynchronous. */
type Effect = () => unknown;

/**
 * The decoding loop. It yields every model step and callback as an {@link Effect} and resumes
 * with its result, so one loop serves the sync and the async driver. Rows that finish keep
 * feeding their last id (results ignored) so the batch keeps its shape until every row is done.
 */
function* decodeLoop<S>(
  model: AsyncStepModel<S>,
  prompts: readonly (readonly number[])[],
  opts: GenerateOptions<unknown> | GenerateAsyncOptions<unknown>,
): Generator<Effect, GenerateResult[], unknown> {
  if (prompts.length === 0) throw new Error("generate: need at least one prompt");
  const runs = prompts.map((p) => new Run(p, opts));
  const rows = runs.length;
  const state = model.init(rows);
  let feed: number[][] = prompts.map((p) => [...p]);
  while (runs.some((r) => r.finish === null)) {
    const logits = (yield () => model.step(feed, state)) as StepLogits;
    const V = logits.length / rows;
    if (!Number.isInteger(V) || V === 0)
      throw new Error(`generate: the model returned ${logits.length} logits for ${rows} rows`);
    const next: number[][] = [];
    for (let r = 0; r < rows; r++) {
      const run = runs[r];
      const id = run.finish === null ? run.choose(logits.subarray(r * V, (r + 1) * V), r) : null;
      next.push([run.last]);
      if (id === null) continue;
      // Callbacks cost a yield (a closure and a resume) per row and token only when they are set.
      const { onToken, onText } = opts;
      const stopByCallback =
        onToken !== undefined && (yield () => onToken(id, run.generated.length - 1, r)) === false;
      const piece = run.advance();
      if (piece && onText) yield () => onText(piece, r);
      if (stopByCallback && run.finish === null) run.finish = "callback";
    }
    feed = next;
  }
  for (let r = 0; r < rows; r++) {
    const rest = runs[r].take(runs[r].text.length);
    const { onText } = opts;
    if (rest && onText) yield () => onText(rest, r);
  }
  return runs.map((r) => r.result());
}

/** Runs the loop's effects as they come. */
function runSync<T>(loop: Generator<Effect, T, unknown>): T {
  let it = loop.next();
  while (!it.done) {
    const value = it.value();
    if (value instanceof Promise)
      throw new Error("generate: the model or a callback is async; use generateAsync");
    it = loop.next(value);
  }
  return it.value;
}

/** Runs the loop's effects, awaiting each. */
async function runAsync<T>(loop: Generator<Effect, T, unknown>): Promise<T> {
  let it = loop.next();
  while (!it.done) it = loop.next(await it.value());
  return it.value;
}

/**
 * Generates up to `maxNewTokens` ids after `promptIds`. Each step samples with
 * {@link sampleNext} (the repetition penalty sees prompt + generated ids) and stops early on an
 * EOS id, a stop string, or `onToken` returning false. `model` is a {@link StepModel} (e.g.
 * `gptStepModel(gpt)`) or a one-sequence {@link NextTokenModel} or function.
 *
 * @example
 * ```ts
 * const { text } = generate(gptStepModel(model), tok.encode("ROMEO:"), {
 *   maxNewTokens: 100, temperature: 0.8, topK: 40, generator: new Generator(1337),
 *   decode: (ids) => tok.decode(ids), stopStrings: ["\n\n"], onText: (t) => process.stdout.write(t),
 * });
 * ```
 */
export function generate<S = Record<string, unknown>>(
  model: StepModel<S> | NextTokenModel<S> | NextLogitsFn<S>,
  promptIds: readonly number[],
  opts: GenerateOptions<S>,
): GenerateResult {
  const m = isStepModel<S>(model) ? model : asStepModel(model, (opts.state ?? {}) as S);
  return runSync(decodeLoop(m, [promptIds], opts as GenerateOptions<unknown>))[0];
}

/**
 * {@link generate} for a batch: row r continues `prompts[r]`, all rows stepping the model
 * together (equal prompt lengths for a GPT). Rows are sampled in order from one generator, so
 * row r's draws depend on the rows before it.
 *
 * @example
 * ```ts
 * const [a, b] = generateBatch(gptStepModel(model), [[1, 2], [3, 4]], { maxNewTokens: 10, temperature: 0 });
 * ```
 */
export function generateBatch<S>(
  model: StepModel<S>,
  prompts: readonly (readonly number[])[],
  opts: Omit<GenerateOptions<S>, "state">,
): GenerateResult[] {
  return runSync(decodeLoop(model, prompts, opts as GenerateOptions<unknown>));
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
    | AsyncStepModel<S>
    | AsyncNextTokenModel<S>
    | ((newIds: number[], state: S) => StepLogits | Promise<StepLogits>),
  promptIds: readonly number[],
  opts: GenerateAsyncOptions<S>,
): Promise<GenerateResult> {
  const m = isStepModel<S>(model) ? model : asStepModel(model, (opts.state ?? {}) as S);
  return (await runAsync(decodeLoop(m, [promptIds], opts as GenerateAsyncOptions<unknown>)))[0];
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
