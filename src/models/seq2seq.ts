/**
 * Seq2SeqTransformer: an encoder-decoder translation model around nn.Transformer, with the module
 * names of PyTorch's "Language Translation with nn.Transformer" tutorial (transformer, generator,
 * src_tok_emb, tgt_tok_emb, positional_encoding). Token embeddings are scaled by √dModel and get
 * sinusoidal positions. {@link Seq2SeqTransformer.nextLogits} is the decoding step (optionally with
 * a key/value cache, so producing token t costs O(t)); greedy and beam search over it live in
 * src/generate (`translateGreedy`, `translateBeam`).
 */
import { Embedding } from "../nn/embedding.js";
import { xavierUniform_ } from "../nn/init.js";
import type { KVCache } from "../nn/kv-cache.js";
import { Linear } from "../nn/linear.js";
import { Module } from "../nn/module.js";
import { SinusoidalPositionalEncoding } from "../nn/positional.js";
import { Transformer } from "../nn/transformer.js";
import type { Activation, DecoderLayerForwardOptions } from "../nn/transformer-layers.js";
import { eq, mul, select } from "../ops/index.js";
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

  /** Embeds the int32 `ids` and scales by √dModel: (N, L) → (N, L, dModel). */
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
 * Encoder-decoder transformer for sequence-to-sequence tasks such as translation. All weight
 * matrices start xavier-uniform, as in the PyTorch tutorial. Call `eval()` before decoding.
 * @example
 * const model = new Seq2SeqTransformer({ srcVocabSize: 100, tgtVocabSize: 120, dModel: 32, nhead: 2 });
 * const logits = model.forward(src, tgtIn, { srcKeyPaddingMask: paddingMask(src, 0) }); // (N, T, 120)
 * model.eval();
 * const out = translateGreedy(model, src, { bos: 1, eos: 2, maxLen: 40 }); // number[][]
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
  decode(tgt: Tensor, memory: Tensor, opts: DecoderLayerForwardOptions & { cache?: KVCache } = {}): Tensor {
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
  private idsOf(rows: readonly (readonly number[])[]): Tensor {
    const N = rows.length;
    const t = rows[0].length;
    const data = new Int32Array(N * t);
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < t; j++) data[this.batchFirst ? i * t + j : j * N + i] = rows[i][j];
    }
    return tensor(data, { shape: this.batchFirst ? [N, t] : [t, N] });
  }

  /**
   * One decoding step: target rows `ids` (N rows of t ids; with a cache only the new ones) against
   * `memory` → logits (N, tgtVocabSize) of each row's last position. Call under `withNoGrad`.
   * @example const logits = model.nextLogits([[bos]], model.encode(src), { cache: model.transformer.decoder.createCache() });
   */
  nextLogits(
    ids: readonly (readonly number[])[],
    memory: Tensor,
    opts: { cache?: KVCache; memoryKeyPaddingMask?: Tensor | null } = {},
  ): Tensor {
    const h = this.decode(this.idsOf(ids), memory, opts); // (N, t, D)
    return this.generator.forward(select(h, this.batchFirst ? 1 : 0, -1)); // (N, V)
  }
}
