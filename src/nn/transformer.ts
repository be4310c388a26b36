/**
 * The encoder-decoder Transformer ("Attention Is All You Need", §3.1) with the semantics and
 * state-dict names of torch.nn.Transformer (PyTorch 1.13): stacks of the layers in
 * transformer-layers.ts, so a PyTorch state dict loads directly. The decoder also decodes
 * incrementally with a {@link KVCache}.
 */
import { triu } from "../ops/index.js";
import { full } from "../tensor/create.js";
import type { FloatDType } from "../tensor/dtype.js";
import type { Tensor } from "../tensor/tensor.js";
import type { Generator } from "../util/rng.js";
import { shapeStr } from "../util/shape.js";
import { ModuleList, type UnaryModule } from "./container.js";
import { xavierUniform_ } from "./init.js";
import { KVCache } from "./kv-cache.js";
import { LayerNorm } from "./layer-norm.js";
import { Module } from "./module.js";
import {
  type DecoderLayerForwardOptions,
  TransformerDecoderLayer,
  TransformerEncoderLayer,
  type TransformerLayerOptions,
} from "./transformer-layers.js";

/** numLayers layers from a factory (PyTorch deep-copies one layer; callers pass `() => layer.clone()`). */
function stack<L extends Module>(make: (i: number) => L, n: number): ModuleList<L> {
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`Transformer stack: numLayers must be a positive integer, got ${n}`);
  return new ModuleList<L>(Array.from({ length: n }, (_, i) => make(i)));
}

/**
 * A stack of encoder layers with an optional final norm, as torch.nn.TransformerEncoder
 * (fields `layers`, `norm`).
 * @example
 * const enc = new TransformerEncoder(new TransformerEncoderLayer(16, 2), 2, new LayerNorm(16));
 * const memory = enc.forward(src, { srcKeyPaddingMask }); // (S, N, 16)
 */
export class TransformerEncoder extends Module {
  layers: ModuleList<TransformerEncoderLayer>;
  norm: UnaryModule | null;

  constructor(
    layer: TransformerEncoderLayer | ((i: number) => TransformerEncoderLayer),
    readonly numLayers: number,
    norm: UnaryModule | null = null,
  ) {
    super();
    this.layers = stack(typeof layer === "function" ? layer : () => layer.clone(), numLayers);
    this.norm = norm;
  }

  /** Runs `src` through every layer with the same masks, then the final norm when there is one. */
  forward(
    src: Tensor,
    opts: { mask?: Tensor | null; srcKeyPaddingMask?: Tensor | null; isCausal?: boolean } = {},
  ): Tensor {
    const { mask: srcMask, srcKeyPaddingMask, isCausal } = opts;
    let x = src;
    for (const layer of this.layers) x = layer.forward(x, { srcMask, srcKeyPaddingMask, isCausal });
    return this.norm ? this.norm.forward(x) : x;
  }
}

/**
 * A stack of decoder layers with an optional final norm, as torch.nn.TransformerDecoder.
 * With `cache`, pass only the new target positions; each layer attends to its cached past.
 * @example
 * const dec = new TransformerDecoder(new TransformerDecoderLayer(16, 2), 2, new LayerNorm(16));
 * const h = dec.forward(tgt, memory, { tgtMask: Transformer.generateSquareSubsequentMask(T) });
 */
export class TransformerDecoder extends Module {
  layers: ModuleList<TransformerDecoderLayer>;
  norm: UnaryModule | null;

  constructor(
    layer: TransformerDecoderLayer | ((i: number) => TransformerDecoderLayer),
    readonly numLayers: number,
    norm: UnaryModule | null = null,
  ) {
    super();
    this.layers = stack(typeof layer === "function" ? layer : () => layer.clone(), numLayers);
    this.norm = norm;
  }

  /** An empty cache for incremental decoding with this decoder: one slot per layer. */
  createCache(): KVCache {
    return new KVCache(this.layers.length);
  }

  /** Runs `tgt` through every layer against `memory`, then the final norm when there is one. */
  forward(tgt: Tensor, memory: Tensor, opts: DecoderLayerForwardOptions & { cache?: KVCache } = {}): Tensor {
    const cache = opts.cache;
    if (cache && cache.numLayers !== this.layers.length) {
      throw new Error(
        `TransformerDecoder: cache has ${cache.numLayers} layers, the decoder ${this.layers.length}`,
      );
    }
    let x = tgt;
    let i = 0;
    for (const layer of this.layers) x = layer.forward(x, memory, { ...opts, cache, layer: i++ });
    return this.norm ? this.norm.forward(x) : x;
  }
}

/**
 * Options of Transformer: sizes plus the layer options.
 * @example new Transformer({ dModel: 64, nhead: 4, numEncoderLayers: 3, numDecoderLayers: 3, batchFirst: true })
 */
export interface TransformerOptions extends TransformerLayerOptions {
  dModel?: number;
  nhead?: number;
  numEncoderLayers?: number;
  numDecoderLayers?: number;
}

/**
 * Masks of Transformer.forward: the encoder's (src…) and the decoder's.
 * @example model.forward(src, tgt, { srcKeyPaddingMask, tgtIsCausal: true, memoryKeyPaddingMask: srcKeyPaddingMask })
 */
export interface TransformerForwardOptions extends DecoderLayerForwardOptions {
  srcMask?: Tensor | null;
  srcKeyPaddingMask?: Tensor | null;
  srcIsCausal?: boolean;
}

/**
 * torch.nn.Transformer: an encoder and a decoder, each ending in a LayerNorm, with every
 * weight matrix re-initialised xavier-uniform. Defaults as PyTorch (dModel 512, 8 heads, 6+6
 * layers, feed-forward 2048, dropout 0.1, relu, post-norm, sequence-first).
 * @example
 * const model = new Transformer({ dModel: 16, nhead: 2, numEncoderLayers: 2, numDecoderLayers: 2, batchFirst: true });
 * const tgtMask = Transformer.generateSquareSubsequentMask(5);
 * const out = model.forward(src, tgt, { tgtMask, srcKeyPaddingMask }); // (N, 5, 16)
 */
export class Transformer extends Module {
  encoder: TransformerEncoder;
  decoder: TransformerDecoder;
  readonly dModel: number;
  readonly nhead: number;
  readonly batchFirst: boolean;

  constructor(opts: TransformerOptions = {}) {
    super();
    const d = (this.dModel = opts.dModel ?? 512);
    const h = (this.nhead = opts.nhead ?? 8);
    this.batchFirst = opts.batchFirst ?? false;
    const norm = () =>
      new LayerNorm(d, { eps: opts.layerNormEps ?? 1e-5, bias: opts.bias ?? true, dtype: opts.dtype });
    const encLayer = () => new TransformerEncoderLayer(d, h, opts);
    const decLayer = () => new TransformerDecoderLayer(d, h, opts);
    this.encoder = new TransformerEncoder(encLayer, opts.numEncoderLayers ?? 6, norm());
    this.decoder = new TransformerDecoder(decLayer, opts.numDecoderLayers ?? 6, norm());
    this.resetParameters(opts.generator);
  }

  /** xavier-uniform on every parameter with more than one dim, as PyTorch's _reset_parameters. */
  resetParameters(generator?: Generator): void {
    for (const p of this.parameters()) if (p.ndim > 1) xavierUniform_(p, 1, generator);
  }

  /** src (N, S, E) and tgt (N, T, E) with batchFirst (else sequence first) → (N, T, E). */
  forward(src: Tensor, tgt: Tensor, opts: TransformerForwardOptions = {}): Tensor {
    const bDim = this.batchFirst ? 0 : 1;
    if (src.ndim === 3 && src.shape[bDim] !== tgt.shape[bDim]) {
      throw new Error(
        `Transformer: src ${shapeStr(src.shape)} and tgt ${shapeStr(tgt.shape)} must have the same batch size`,
      );
    }
    if (src.shape[src.ndim - 1] !== this.dModel || tgt.shape[tgt.ndim - 1] !== this.dModel) {
      throw new Error(
        `Transformer: src ${shapeStr(src.shape)} and tgt ${shapeStr(tgt.shape)} must have feature size dModel ${this.dModel}`,
      );
    }
    const { srcMask, srcKeyPaddingMask, srcIsCausal, ...decoderOpts } = opts;
    const memory = this.encoder.forward(src, { mask: srcMask, srcKeyPaddingMask, isCausal: srcIsCausal });
    return this.decoder.forward(tgt, memory, decoderOpts);
  }

  /**
   * The (n, n) float mask that stops position i attending to j > i: 0 on and below the
   * diagonal, −∞ above, as PyTorch's.
   * @example Transformer.generateSquareSubsequentMask(3) // [[0, -inf, -inf], [0, 0, -inf], [0, 0, 0]]
   */
  static generateSquareSubsequentMask(n: number, dtype: FloatDType = "float32"): Tensor {
    return triu(full([n, n], Number.NEGATIVE_INFINITY, { dtype }), 1);
  }
}
