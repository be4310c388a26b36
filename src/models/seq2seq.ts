/**
 * Seq2SeqTransformer: an encoder-decoder translation model around nn.Transformer, with the module
 * names of PyTorch's "Language Translation with nn.Transformer" tutorial (transformer, generator,
 * src_tok_emb, tgt_tok_emb, positional_encoding). Token embeddings are scaled by √dModel and get
 * sinusoidal positions; decoding is greedy or beam search, optionally with a key/value cache so
 * producing token t costs O(t) rather than re-running the whole prefix.
 */
import { withNoGrad } from "../autograd/graph.js";
import { type BeamStepFn, beamSearch } from "../generate/beam.js";
import type { TransformerDecoderCache } from "../nn/attention.js";
import { Embedding } from "../nn/embedding.js";
import { xavierUniform_ } from "../nn/init.js";
import { Linear } from "../nn/linear.js";
import { Module } from "../nn/module.js";
import { SinusoidalPositionalEncoding } from "../nn/positional.js";
import { type Activation, type DecoderLayerForwardOptions, Transformer } from "../nn/transformer.js";
import { argmax, eq, expand, mul, narrow, select } from "../ops/index.js";
import { tensor } from "../tensor/create.js";
import type { Tensor } from "../tensor/tensor.js";
import type { Generator } from "../util/rng.js";

/**
 * Seq2SeqTransformer's configuration (defaults: dModel 512, 8 heads, 3+3 layers, feed-forward
 * 512, dropout 0.1, batch-first, post-norm, as the PyTorch translation tutorial).
 * @example { srcVocabSize: 8000, tgtVocabSize: 8000, dModel: 256, nhead: 4, maxLen: 256 }
 */
export interface Seq2SeqConfig {
  srcVocabSize: number;
  tgtVocabSize: number;
  dModel?: number;
  nhead?: number;
  numEncoderLayers?: number;
  numDecoderLayers?: number;
  dimFeedforward?: number;
  dropout?: number;
  /** Longest sequence the positional table covers (default 5000). */
  maxLen?: number;
  /** Token ids are (N, L) (default) rather than (L, N). */
  batchFirst?: boolean;
  normFirst?: boolean;
  activation?: Activation;
  dtype?: "float32" | "float64";
  generator?: Generator;
}

/**
 * A bool key padding mask, true where `ids` equals `padId`.
 * @example model.encode(src, paddingMask(src, PAD))
 */
export function paddingMask(ids: Tensor, padId: number): Tensor {
  return eq(ids, padId);
}

/**
 * Token embedding scaled by √dModel ("Attention Is All You Need", §3.4); the table is `embedding`.
 * @example new TokenEmbedding(1000, 64).forward(ids) // (N, L, 64)
 */
export class TokenEmbedding extends Module {
  embedding: Embedding;

  constructor(
    readonly vocabSize: number,
    readonly dModel: number,
    opts: { dtype?: "float32" | "float64"; generator?: Generator } = {},
  ) {
    super();
    this.embedding = new Embedding(vocabSize, dModel, opts);
  }

  forward(ids: Tensor): Tensor {
    return mul(this.embedding.forward(ids), Math.sqrt(this.dModel));
  }
}

/**
 * Masks of Seq2SeqTransformer.forward.
 * @example model.forward(src, tgtIn, { srcKeyPaddingMask: paddingMask(src, PAD), tgtKeyPaddingMask: paddingMask(tgtIn, PAD) })
 */
export interface Seq2SeqMasks extends DecoderLayerForwardOptions {
  srcMask?: Tensor | null;
  /** (N, S) bool, true at padding; also used as memoryKeyPaddingMask unless that is given. */
  srcKeyPaddingMask?: Tensor | null;
}

/**
 * Options of greedyDecode.
 * @example model.greedyDecode(src, { bos: 1, eos: 2, maxLen: 50, srcKeyPaddingMask })
 */
export interface Seq2SeqDecodeOptions {
  bos: number;
  /** A sequence stops after emitting eos; omit to always produce maxLen tokens. */
  eos?: number;
  /** Most tokens to generate after bos (default 64). */
  maxLen?: number;
  /** Incremental decoding with a key/value cache (default true). */
  useCache?: boolean;
  srcKeyPaddingMask?: Tensor | null;
}

/**
 * Options of beamSearch.
 * @example model.beamSearch(src, { bos: 1, eos: 2, beamSize: 4, lengthPenalty: 0.6 })
 */
export interface Seq2SeqBeamOptions extends Seq2SeqDecodeOptions {
  /** Default 4. */
  beamSize?: number;
  /** Hypotheses are ranked by Σ log p / length^lengthPenalty (default 1). */
  lengthPenalty?: number;
}

/**
 * Encoder-decoder transformer for sequence-to-sequence tasks such as translation. All weight
 * matrices start xavier-uniform, as in the PyTorch tutorial. Call `eval()` before decoding.
 * @example
 * const model = new Seq2SeqTransformer({ srcVocabSize: 100, tgtVocabSize: 120, dModel: 32, nhead: 2 });
 * const logits = model.forward(src, tgtIn, { srcKeyPaddingMask: paddingMask(src, 0) }); // (N, T, 120)
 * model.eval();
 * const out = model.greedyDecode(src, { bos: 1, eos: 2, maxLen: 40 }); // number[][]
 */
export class Seq2SeqTransformer extends Module {
  transformer: Transformer;
  generator: Linear;
  src_tok_emb: TokenEmbedding;
  tgt_tok_emb: TokenEmbedding;
  positional_encoding: SinusoidalPositionalEncoding;
  readonly batchFirst: boolean;

  constructor(readonly config: Seq2SeqConfig) {
    super();
    const d = config.dModel ?? 512;
    const { dtype, generator } = config;
    this.batchFirst = config.batchFirst ?? true;
    this.transformer = new Transformer({
      dModel: d,
      nhead: config.nhead ?? 8,
      numEncoderLayers: config.numEncoderLayers ?? 3,
      numDecoderLayers: config.numDecoderLayers ?? 3,
      dimFeedforward: config.dimFeedforward ?? 512,
      dropout: config.dropout ?? 0.1,
      activation: config.activation,
      batchFirst: this.batchFirst,
      normFirst: config.normFirst,
      dtype,
      generator,
    });
    this.generator = new Linear(d, config.tgtVocabSize, { dtype, generator });
    this.src_tok_emb = new TokenEmbedding(config.srcVocabSize, d, { dtype, generator });
    this.tgt_tok_emb = new TokenEmbedding(config.tgtVocabSize, d, { dtype, generator });
    this.positional_encoding = new SinusoidalPositionalEncoding(d, {
      maxLen: config.maxLen ?? 5000,
      dropout: config.dropout ?? 0.1,
      batchFirst: this.batchFirst,
      dtype,
      generator,
    });
    for (const p of this.parameters()) if (p.ndim > 1) xavierUniform_(p, 1, generator);
  }

  /** Source ids (N, S) → memory (N, S, dModel) (sequence first when !batchFirst). */
  encode(src: Tensor, srcKeyPaddingMask: Tensor | null = null, srcMask: Tensor | null = null): Tensor {
    const x = this.positional_encoding.forward(this.src_tok_emb.forward(src)); // (N, S, D)
    return this.transformer.encoder.forward(x, { mask: srcMask, srcKeyPaddingMask });
  }

  /**
   * Target ids (N, T) and memory → decoder states (N, T, dModel). Self-attention is causal
   * unless a tgtMask is given. With a cache, pass only the new ids; positions continue from it.
   */
  decode(
    tgt: Tensor,
    memory: Tensor,
    opts: DecoderLayerForwardOptions & { cache?: TransformerDecoderCache } = {},
  ): Tensor {
    const x = this.positional_encoding.forward(this.tgt_tok_emb.forward(tgt), opts.cache?.length ?? 0); // (N, T, D)
    return this.transformer.decoder.forward(x, memory, {
      ...opts,
      tgtIsCausal: opts.tgtIsCausal ?? !opts.tgtMask,
    });
  }

  /** Teacher-forced logits (N, T, tgtVocabSize) for source ids and shifted target ids. */
  forward(src: Tensor, tgt: Tensor, opts: Seq2SeqMasks = {}): Tensor {
    const { srcMask, srcKeyPaddingMask, ...dec } = opts;
    const memory = this.encode(src, srcKeyPaddingMask ?? null, srcMask ?? null);
    const memoryKeyPaddingMask =
      dec.memoryKeyPaddingMask === undefined ? srcKeyPaddingMask : dec.memoryKeyPaddingMask;
    return this.generator.forward(this.decode(tgt, memory, { ...dec, memoryKeyPaddingMask }));
  }

  /** Rows of token ids as an int32 tensor in the model's layout: (N, t), or (t, N). */
  private idsOf(rows: number[][]): Tensor {
    const N = rows.length;
    const t = rows[0].length;
    const data = new Int32Array(N * t);
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < t; j++) data[this.batchFirst ? i * t + j : j * N + i] = rows[i][j];
    }
    return tensor(data, { shape: this.batchFirst ? [N, t] : [t, N] });
  }

  /** Logits (N, V) at the last position of decoder states. */
  private lastLogits(h: Tensor): Tensor {
    return this.generator.forward(select(h, this.batchFirst ? 1 : 0, -1)); // (N, V)
  }

  /**
   * Greedy decoding of a batch: the most likely next token each step, until every sequence has
   * emitted eos or maxLen tokens. Returns the generated ids of each source without bos and eos
   * (as src/generate's searches do). Cached and uncached decoding give the same tokens.
   * @example model.greedyDecode(src, { bos: 1, eos: 2, maxLen: 30, useCache: true })
   */
  greedyDecode(src: Tensor, opts: Seq2SeqDecodeOptions): number[][] {
    return withNoGrad(() => {
      const kpm = opts.srcKeyPaddingMask ?? null;
      const memory = this.encode(src, kpm);
      const N = src.shape[this.batchFirst ? 0 : 1];
      const cache = (opts.useCache ?? true) ? this.transformer.decoder.createCache() : undefined;
      const seqs = Array.from({ length: N }, () => [opts.bos]);
      const done = new Array<boolean>(N).fill(false);
      for (let step = 0; step < (opts.maxLen ?? 64) && !done.every(Boolean); step++) {
        const input = cache ? seqs.map((s) => [s[s.length - 1]]) : seqs;
        const h = this.decode(this.idsOf(input), memory, { memoryKeyPaddingMask: kpm, cache }); // (N, t, D)
        const next = argmax(this.lastLogits(h), -1).toArray(); // (N)
        seqs.forEach((s, i) => {
          s.push(done[i] ? s[s.length - 1] : next[i]);
          if (next[i] === opts.eos) done[i] = true;
        });
      }
      return seqs.map((s) => {
        const end = opts.eos === undefined ? -1 : s.indexOf(opts.eos, 1);
        return s.slice(1, end < 0 ? s.length : end);
      });
    });
  }

  /**
   * Beam search (src/generate's `beamSearch`), one source at a time: the beamSize best partial
   * hypotheses advance together as one decoder batch, their caches reordered as beams are
   * chosen. Returns the best hypothesis of each source (bos and eos dropped); beamSize 1 gives
   * the greedy tokens.
   * @example model.beamSearch(src, { beamSize: 4, bos: 1, eos: 2, maxLen: 30, lengthPenalty: 0.6 })
   */
  beamSearch(src: Tensor, opts: Seq2SeqBeamOptions): number[][] {
    return withNoGrad(() => {
      const N = src.shape[this.batchFirst ? 0 : 1];
      const out: number[][] = [];
      for (let i = 0; i < N; i++) {
        const one = narrow(src, this.batchFirst ? 0 : 1, i, 1); // (1, S)
        const kpm = opts.srcKeyPaddingMask ? narrow(opts.srcKeyPaddingMask, 0, i, 1) : null; // (1, S)
        const memory1 = this.encode(one, kpm); // (1, S, D)
        const cache = (opts.useCache ?? true) ? this.transformer.decoder.createCache() : undefined;
        const step: BeamStepFn = (prefixes, { parents }) => {
          const B = prefixes.length;
          cache?.reorder(tensor(Int32Array.from(parents)));
          const memShape = [...memory1.shape];
          memShape[this.batchFirst ? 0 : 1] = B;
          const memory = expand(memory1, memShape); // (B, S, D)
          const memoryKeyPaddingMask = kpm ? expand(kpm, [B, kpm.shape[1]]) : null; // (B, S)
          const rows = cache ? prefixes.map((p) => [p[p.length - 1]]) : prefixes.map((p) => [...p]);
          const h = this.decode(this.idsOf(rows), memory, { memoryKeyPaddingMask, cache });
          return this.lastLogits(h).toArray() as Float32Array | Float64Array; // (B, V)
        };
        const [best] = beamSearch(step, {
          beamSize: opts.beamSize ?? 4,
          maxLen: opts.maxLen ?? 64,
          bos: opts.bos,
          eos: opts.eos ?? -1,
          lengthPenalty: opts.lengthPenalty,
        });
        out.push(best.ids);
      }
      return out;
    });
  }
}
