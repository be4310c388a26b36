/**
 * The models as {@link StepModel}s, so the one loop in generate.ts and the beam search in beam.ts
 * drive them: a GPT through its key/value cache (a sliding window past blockSize, as nanoGPT crops
 * its input), and the encoder-decoders (the seq2seq Transformer, BART) through their decoder's
 * cache over a source's memory.
 */
import { withNoGrad } from "../autograd/graph.js";
import type { BartForConditionalGeneration } from "../models/bart.js";
import type { GPT } from "../models/gpt.js";
import type { Seq2SeqTransformer } from "../models/seq2seq.js";
import { KVCache } from "../nn/kv-cache.js";
import { indexSelect, narrow } from "../ops/index.js";
import { tensor } from "../tensor/create.js";
import type { Tensor } from "../tensor/tensor.js";
import { beamSearch } from "./beam.js";
import { generateBatch } from "./generate.js";
import type { StepLogits, StepModel } from "./step.js";

/** A GPT's decoding state: the cache and every row's tokens so far (to rebuild the window). */
export interface GPTDecodeState {
  cache?: KVCache;
  history: number[][];
}

/**
 * A GPT as a {@link StepModel}: every step feeds only the new ids through the cache, so token t
 * costs O(t). When the context would pass blockSize, the cache restarts from each row's last
 * blockSize tokens. Call `model.eval()` first so dropout is off.
 * @example
 * const result = generate(gptStepModel(model), tok.encode("ROMEO:"), { maxNewTokens: 100, decode: (ids) => tok.decode(ids) });
 */
export function gptStepModel(model: GPT, opts: { useCache?: boolean } = {}): StepModel<GPTDecodeState> {
  const useCache = opts.useCache ?? true;
  const { blockSize, nLayer } = model.config;
  return {
    init: (rows) => ({ history: Array.from({ length: rows }, () => []) }),
    step(newIds, state) {
      const B = newIds.length;
      const T = newIds[0]?.length ?? 0;
      for (let r = 0; r < B; r++) {
        if (T === 0 || newIds[r].length !== T)
          throw new Error("gptStepModel: every row needs the same, non-zero number of new ids");
        state.history[r].push(...newIds[r]);
      }
      return withNoGrad(() => {
        let feed: readonly (readonly number[])[] = newIds;
        if (!useCache || !state.cache || state.cache.length + T > blockSize) {
          // (Re)start: run the last blockSize tokens from scratch, in the storage already allocated.
          if (useCache) {
            state.cache ??= new KVCache(nLayer);
            state.cache.reset();
          }
          feed = state.history.map((h) => h.slice(-blockSize));
        }
        const t = feed[0].length;
        const ids = new Int32Array(B * t);
        for (let r = 0; r < B; r++) ids.set(feed[r], r * t);
        const { logits } = model.forward(tensor(ids, { shape: [B, t] }), null, {
          cache: state.cache,
          lastOnly: true,
        }); // (B, 1, V)
        return logits.toArray() as StepLogits;
      });
    },
    reorder(state, index) {
      state.history = index.map((i) => [...state.history[i]]);
      state.cache?.reorder(tensor(Int32Array.from(index)));
    },
  };
}

/** A seq2seq decoding state: the memory of the source(s), its padding mask, the cache and the rows so far. */
export interface Seq2SeqDecodeState {
  memory: Tensor;
  memoryKeyPaddingMask: Tensor | null;
  cache?: KVCache;
  history: number[][];
}

/**
 * Options of {@link seq2seqStepModel} and the translate helpers.
 * @example { srcKeyPaddingMask: paddingMask(src, PAD), useCache: true }
 */
export interface Seq2SeqStepOptions {
  /** (N, S) bool, true at padding of `src`. */
  srcKeyPaddingMask?: Tensor | null;
  /** Incremental decoding with a key/value cache (default true); cached and uncached give the same tokens. */
  useCache?: boolean;
}

/**
 * A Seq2SeqTransformer over the sources `src` as a {@link StepModel}: the encoder runs once in
 * `init` (rows must equal the number of sources), each step runs the decoder on the new target
 * ids. Call `model.eval()` first.
 * @example generateBatch(seq2seqStepModel(model, src), rows.map(() => [BOS]), { maxNewTokens: 30, temperature: 0, eosId: EOS })
 */
export function seq2seqStepModel(
  model: Seq2SeqTransformer,
  src: Tensor,
  opts: Seq2SeqStepOptions = {},
): StepModel<Seq2SeqDecodeState> {
  const bDim = model.batchFirst ? 0 : 1;
  return {
    init(rows) {
      if (rows !== src.shape[bDim])
        throw new Error(`seq2seqStepModel: ${rows} rows for ${src.shape[bDim]} sources`);
      const memoryKeyPaddingMask = opts.srcKeyPaddingMask ?? null;
      const memory = withNoGrad(() => model.encode(src, memoryKeyPaddingMask)); // (N, S, D)
      const cache = (opts.useCache ?? true) ? model.transformer.decoder.createCache() : undefined;
      return { memory, memoryKeyPaddingMask, cache, history: Array.from({ length: rows }, () => []) };
    },
    step(newIds, state) {
      newIds.forEach((ids, r) => {
        state.history[r].push(...ids);
      });
      const rows = state.cache ? newIds : state.history;
      return withNoGrad(() => model.nextLogits(rows, state.memory, state).toArray() as StepLogits); // (N·V)
    },
    reorder(state, index) {
      const idx = tensor(Int32Array.from(index));
      state.history = index.map((i) => [...state.history[i]]);
      withNoGrad(() => {
        state.memory = indexSelect(state.memory, bDim, idx);
        if (state.memoryKeyPaddingMask)
          state.memoryKeyPaddingMask = indexSelect(state.memoryKeyPaddingMask, 0, idx);
      });
      state.cache?.reorder(idx);
    },
  };
}

/**
 * Options of {@link translateGreedy} and {@link translateBeam}.
 * @example { bos: 1, eos: 2, maxLen: 50, srcKeyPaddingMask }
 */
export interface TranslateOptions extends Seq2SeqStepOptions {
  bos: number;
  /** A sequence stops after emitting eos; omit to always produce maxLen tokens. */
  eos?: number;
  /** Most tokens to generate after bos (default 64). */
  maxLen?: number;
}

/**
 * Greedy decoding of a batch of sources with the one generation loop: the most likely next
 * token each step, until every row has emitted eos or maxLen tokens. Returns each source's
 * generated ids without bos and eos.
 * @example translateGreedy(model, src, { bos: 1, eos: 2, maxLen: 30 })
 */
export function translateGreedy(model: Seq2SeqTransformer, src: Tensor, opts: TranslateOptions): number[][] {
  const N = src.shape[model.batchFirst ? 0 : 1];
  const prompts = Array.from({ length: N }, () => [opts.bos]);
  const results = generateBatch(seq2seqStepModel(model, src, opts), prompts, {
    maxNewTokens: opts.maxLen ?? 64,
    temperature: 0,
    eosId: opts.eos,
  });
  return results.map((r) => r.ids);
}

/**
 * Beam search (beam.ts's `beamSearch`) over each source in turn: the beamSize best partial
 * hypotheses advance together as one decoder batch, their caches reordered as beams are chosen.
 * Returns the best hypothesis of each source (bos and eos dropped); beamSize 1 gives the greedy tokens.
 * @example translateBeam(model, src, { beamSize: 4, bos: 1, eos: 2, maxLen: 30, lengthPenalty: 0.6 })
 */
export function translateBeam(
  model: Seq2SeqTransformer,
  src: Tensor,
  opts: TranslateOptions & { beamSize?: number; lengthPenalty?: number },
): number[][] {
  const bDim = model.batchFirst ? 0 : 1;
  const out: number[][] = [];
  for (let i = 0; i < src.shape[bDim]; i++) {
    const one = narrow(src, bDim, i, 1); // (1, S)
    const kpm = opts.srcKeyPaddingMask ? narrow(opts.srcKeyPaddingMask, 0, i, 1) : null; // (1, S)
    const stepModel = seq2seqStepModel(model, one, { srcKeyPaddingMask: kpm, useCache: opts.useCache });
    const [best] = beamSearch(stepModel, {
      beamSize: opts.beamSize ?? 4,
      maxLen: opts.maxLen ?? 64,
      bos: opts.bos,
      eos: opts.eos ?? -1,
      lengthPenalty: opts.lengthPenalty,
    });
    out.push(best.ids);
  }
  return out;
}

/** A BART decoding state: the encoder states of every row's source, its mask and the decoder cache. */
export interface BartDecodeState {
  memory: Tensor;
  attentionMask: Tensor | null;
  cache?: KVCache;
  history: number[][];
}

/**
 * A BartForConditionalGeneration over the sources `inputIds` (N, S) as a {@link StepModel}: the
 * encoder runs once in `init`; `rows` may be any multiple k of N, row r then decoding source
 * ⌊r / k⌋ (HF's expansion of the encoder output for beams). Each step runs the decoder on the
 * new ids through its cache. Call `model.eval()` first.
 * @example generateBatch(bartStepModel(bart, src, mask), [[2], [2]], { maxNewTokens: 20, temperature: 0, eosId: 2 })
 */
export function bartStepModel(
  model: BartForConditionalGeneration,
  inputIds: Tensor,
  attentionMask: Tensor | null = null,
  opts: { useCache?: boolean } = {},
): StepModel<BartDecodeState> {
  const N = inputIds.shape[0];
  return {
    init(rows) {
      if (rows % N !== 0) throw new Error(`bartStepModel: ${rows} rows for ${N} sources`);
      return withNoGrad(() => {
        let memory = model.model.encoder.forward(inputIds, attentionMask); // (N, S, D)
        let mask = attentionMask;
        if (rows !== N) {
          const idx = tensor(Int32Array.from({ length: rows }, (_, r) => Math.floor(r / (rows / N))));
          memory = indexSelect(memory, 0, idx);
          if (mask) mask = indexSelect(mask, 0, idx);
        }
        const cache = (opts.useCache ?? true) ? model.model.decoder.createCache() : undefined;
        return { memory, attentionMask: mask, cache, history: Array.from({ length: rows }, () => []) };
      });
    },
    step(newIds, state) {
      newIds.forEach((ids, r) => {
        state.history[r].push(...ids);
      });
      const feed = state.cache ? newIds : state.history;
      const B = feed.length;
      const t = feed[0].length;
      const data = new Int32Array(B * t);
      for (let r = 0; r < B; r++) {
        if (feed[r].length !== t)
          throw new Error("bartStepModel: every row needs the same number of new ids");
        data.set(feed[r], r * t);
      }
      return withNoGrad(() => {
        const { logits } = model.forward({
          encoderOutputs: state.memory,
          attentionMask: state.attentionMask,
          decoderInputIds: tensor(data, { shape: [B, t] }),
          cache: state.cache,
          lastOnly: true,
        }); // (B, 1, V)
        return logits.toArray() as StepLogits;
      });
    },
    reorder(state, index) {
      const idx = tensor(Int32Array.from(index));
      state.history = index.map((i) => [...state.history[i]]);
      withNoGrad(() => {
        state.memory = indexSelect(state.memory, 0, idx);
        if (state.attentionMask) state.attentionMask = indexSelect(state.attentionMask, 0, idx);
      });
      state.cache?.reorder(idx);
    },
  };
}
