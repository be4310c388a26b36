/**
 * The encoder and decoder layers of torch.nn.Transformer (PyTorch 1.13 semantics and state-dict
 * names): self-attention (and, in the decoder, cross-attention over the encoder output) and a
 * feed-forward block, each with dropout, a residual and LayerNorm, post-norm or pre-norm. In
 * inference on a backend with a fused transformer layer, each layer runs as that one kernel; the
 * composed forward is its reference and the fallback.
 */
import { isGradEnabled } from "../autograd/graph.js";
import {
  add,
  crossAttentionMemory,
  type FusedLayerOptions,
  type FusedLayerWeights,
  fusedTransformerLayer,
  gelu,
  hasFusedTransformerLayer,
  type LinearParams,
  narrow,
  relu,
} from "../ops/index.js";
import type { FloatDType } from "../tensor/dtype.js";
import type { Tensor } from "../tensor/tensor.js";
import type { Generator } from "../util/rng.js";
import { attentionMask, MultiheadAttention } from "./attention.js";
import { Dropout } from "./dropout.js";
import type { KVCache } from "./kv-cache.js";
import { LayerNorm } from "./layer-norm.js";
import { Linear } from "./linear.js";
import { Module } from "./module.js";

/**
 * The feed-forward nonlinearity: a name, or any elementwise function.
 * @example new TransformerEncoderLayer(16, 2, { activation: (x) => silu(x) })
 */
export type Activation = "relu" | "gelu" | ((x: Tensor) => Tensor);

/**
 * Options of TransformerEncoderLayer / TransformerDecoderLayer, as PyTorch's keyword arguments.
 * @example { dimFeedforward: 64, dropout: 0.1, activation: "gelu", batchFirst: true, normFirst: true }
 */
export interface TransformerLayerOptions {
  /** Hidden size of the feed-forward block (default 2048). */
  dimFeedforward?: number;
  /** Dropout after attention, inside and after the feed-forward block, and on attention weights (default 0.1). */
  dropout?: number;
  activation?: Activation;
  layerNormEps?: number;
  /** Inputs are (N, L, E) rather than (L, N, E) (default false, as PyTorch). */
  batchFirst?: boolean;
  /** Pre-norm: LayerNorm before each sublayer, x + f(norm(x)) (default false: norm(x + f(x))). */
  normFirst?: boolean;
  /** Biases in the linear layers and LayerNorms (default true). */
  bias?: boolean;
  dtype?: FloatDType;
  generator?: Generator;
}

function activate(a: Activation, x: Tensor): Tensor {
  if (a === "relu") return relu(x);
  if (a === "gelu") return gelu(x);
  return a(x);
}

/** The sublayers both layer kinds share, built in PyTorch's registration order by the callers. */
function parts(dModel: number, nhead: number, o: TransformerLayerOptions) {
  const dtype = o.dtype ?? "float32";
  const bias = o.bias ?? true;
  const p = o.dropout ?? 0.1;
  const g = o.generator;
  const attnOpts = { dropout: p, bias, batchFirst: o.batchFirst ?? false, dtype, generator: g };
  return {
    attn: () => new MultiheadAttention(dModel, nhead, attnOpts),
    linear: (i: number, j: number) => new Linear(i, j, { bias, dtype, generator: g }),
    drop: () => new Dropout(p, g),
    norm: () => new LayerNorm(dModel, { eps: o.layerNormEps ?? 1e-5, bias, dtype }),
    ff: o.dimFeedforward ?? 2048,
  };
}

/** The position-wise feed-forward block (§3.3): linear2(dropout(activation(linear1(x)))). */
function feedForward(l: TransformerEncoderLayer | TransformerDecoderLayer, x: Tensor): Tensor {
  return l.linear2.forward(l.dropout.forward(activate(l.activation, l.linear1.forward(x))));
}

/**
 * Whether a layer's forward may run as one fused kernel: no graph to record, no dropout to draw,
 * batch-first (N, L, E) input, a named activation and a dtype the backend fuses.
 */
function canFuse(l: TransformerEncoderLayer | TransformerDecoderLayer, x: Tensor): boolean {
  if (isGradEnabled() || x.ndim !== 3 || !l.self_attn.batchFirst || !l.self_attn.in_proj_weight) return false;
  if (typeof l.activation !== "string" || !hasFusedTransformerLayer(x.dtype)) return false;
  return !(l.training && l.dropout.p > 0);
}

/** Rows i·E … (i+1)·E − 1 of a packed in-projection (0 = q, 1 = k, 2 = v), as a Linear's parameters. */
function inProj(m: MultiheadAttention, i: number): LinearParams {
  const E = m.embedDim;
  const b = m.in_proj_bias;
  return { weight: narrow(m.in_proj_weight!, 0, i * E, E), bias: b ? narrow(b, 0, i * E, E) : null };
}

/** The self-attention and feed-forward parameters of a layer, as the fused layer takes them. */
function fusedWeights(
  l: TransformerEncoderLayer | TransformerDecoderLayer,
  norm3: LayerNorm,
): FusedLayerWeights {
  const sa = l.self_attn;
  const qkv = { weight: sa.in_proj_weight!, bias: sa.in_proj_bias };
  return { qkv, attnOut: sa.out_proj, norm1: l.norm1, fc: l.linear1, proj: l.linear2, norm3 };
}

/** The options of the fused layer every layer kind shares. */
function fusedOptions(l: TransformerEncoderLayer | TransformerDecoderLayer): FusedLayerOptions {
  const activation = l.activation === "gelu" ? "gelu" : "relu";
  return { nHead: l.nhead, normFirst: l.normFirst, activation, eps: l.norm1.eps };
}

/** Copies weights and mode into a freshly built layer (PyTorch's deepcopy of a layer). */
function copyFrom<L extends Module>(copy: L, src: Module): L {
  copy.loadStateDict(src.stateDict());
  return copy.train(src.training);
}

/**
 * Masks of TransformerEncoderLayer.forward (PyTorch's src_mask, src_key_padding_mask, is_causal).
 * @example layer.forward(x, { srcKeyPaddingMask: paddingMask(ids, 0) })
 */
export interface EncoderLayerForwardOptions {
  /** (S, S) or (N·nhead, S, S): bool with true = not allowed, or additive float. */
  srcMask?: Tensor | null;
  /** (N, S): bool with true = padding, or additive float. */
  srcKeyPaddingMask?: Tensor | null;
  /** Causal self-attention when no srcMask is given (a hint that srcMask is causal otherwise). */
  isCausal?: boolean;
}

/**
 * Self-attention and a feed-forward block, each with dropout, a residual and LayerNorm, as
 * torch.nn.TransformerEncoderLayer (fields self_attn, linear1, dropout, linear2, norm1, norm2,
 * dropout1, dropout2).
 * @example
 * const layer = new TransformerEncoderLayer(16, 2, { dimFeedforward: 32, batchFirst: true });
 * const y = layer.forward(x, { srcKeyPaddingMask }); // x, y (N, S, 16)
 */
export class TransformerEncoderLayer extends Module {
  self_attn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  readonly normFirst: boolean;
  readonly activation: Activation;

  constructor(
    readonly dModel: number,
    readonly nhead: number,
    readonly options: TransformerLayerOptions = {},
  ) {
    super();
    const m = parts(dModel, nhead, options);
    this.self_attn = m.attn();
    this.linear1 = m.linear(dModel, m.ff);
    this.dropout = m.drop();
    this.linear2 = m.linear(m.ff, dModel);
    this.norm1 = m.norm();
    this.norm2 = m.norm();
    this.dropout1 = m.drop();
    this.dropout2 = m.drop();
    this.normFirst = options.normFirst ?? false;
    this.activation = options.activation ?? "relu";
  }

  /** Self-attention then feed-forward over `src` (N, S, E) with batchFirst, else (S, N, E); same shape out. */
  forward(src: Tensor, opts: EncoderLayerForwardOptions = {}): Tensor {
    const { srcMask: attnMask, srcKeyPaddingMask: keyPaddingMask, isCausal } = opts;
    const y = canFuse(this, src) ? this.fused(src, opts) : null;
    if (y) return y;
    const sa = (x: Tensor) =>
      this.dropout1.forward(
        this.self_attn.forward(x, x, x, { attnMask, keyPaddingMask, isCausal, needWeights: false }).output,
      );
    const ff = (x: Tensor) => this.dropout2.forward(feedForward(this, x));
    let x = src;
    if (this.normFirst) {
      x = add(x, sa(this.norm1.forward(x)));
      return add(x, ff(this.norm2.forward(x)));
    }
    x = this.norm1.forward(add(x, sa(x)));
    return this.norm2.forward(add(x, ff(x)));
  }

  /** forward(src, opts) as one fused layer call, or null when its masks are for the composed path to reject. */
  private fused(src: Tensor, opts: EncoderLayerForwardOptions): Tensor | null {
    const [N, S] = src.shape;
    const dtype = src.dtype as FloatDType;
    const mask = attentionMask(opts.srcMask, opts.srcKeyPaddingMask, [N, this.nhead, S, S], dtype);
    const causal = (opts.isCausal ?? false) && !opts.srcMask;
    return fusedTransformerLayer(src, fusedWeights(this, this.norm2), {
      ...fusedOptions(this),
      causal,
      mask,
    });
  }

  /** An independent copy with the same configuration, weights, dtype and mode (PyTorch's deepcopy). */
  clone(): TransformerEncoderLayer {
    const dtype = this.linear1.weight.dtype as FloatDType;
    return copyFrom(new TransformerEncoderLayer(this.dModel, this.nhead, { ...this.options, dtype }), this);
  }
}

/**
 * Masks of the decoder's forward passes (PyTorch's tgt_mask, memory_mask, … key padding masks).
 * @example decoder.forward(tgt, memory, { tgtIsCausal: true, memoryKeyPaddingMask })
 */
export interface DecoderLayerForwardOptions {
  /** (T, T) or (N·nhead, T, T) self-attention mask (with a cache: (T, cached + T)). */
  tgtMask?: Tensor | null;
  /** (T, S) or (N·nhead, T, S) mask over the memory. */
  memoryMask?: Tensor | null;
  /** (N, T) (with a cache: (N, cached + T)). */
  tgtKeyPaddingMask?: Tensor | null;
  /** (N, S). */
  memoryKeyPaddingMask?: Tensor | null;
  /** Causal self-attention when no tgtMask is given; defaults to true when a cache is passed. */
  tgtIsCausal?: boolean;
}

/**
 * Causal self-attention, cross-attention over the encoder output and a feed-forward block, as
 * torch.nn.TransformerDecoderLayer (fields self_attn, multihead_attn, linear1, dropout, linear2,
 * norm1..3, dropout1..3).
 * @example
 * const layer = new TransformerDecoderLayer(16, 2, { batchFirst: true });
 * const y = layer.forward(tgt, memory, { tgtIsCausal: true }); // (N, T, 16)
 */
export class TransformerDecoderLayer extends Module {
  self_attn: MultiheadAttention;
  multihead_attn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  norm3: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  dropout3: Dropout;
  readonly normFirst: boolean;
  readonly activation: Activation;

  constructor(
    readonly dModel: number,
    readonly nhead: number,
    readonly options: TransformerLayerOptions = {},
  ) {
    super();
    const m = parts(dModel, nhead, options);
    this.self_attn = m.attn();
    this.multihead_attn = m.attn();
    this.linear1 = m.linear(dModel, m.ff);
    this.dropout = m.drop();
    this.linear2 = m.linear(m.ff, dModel);
    this.norm1 = m.norm();
    this.norm2 = m.norm();
    this.norm3 = m.norm();
    this.dropout1 = m.drop();
    this.dropout2 = m.drop();
    this.dropout3 = m.drop();
    this.normFirst = options.normFirst ?? false;
    this.activation = options.activation ?? "relu";
  }

  /**
   * Self-attention over `tgt`, cross-attention over `memory`, then feed-forward. With `cache`,
   * `tgt` holds only the new positions and slot `layer` of the cache keeps the earlier ones.
   */
  forward(
    tgt: Tensor,
    memory: Tensor,
    opts: DecoderLayerForwardOptions & { cache?: KVCache; layer?: number } = {},
  ): Tensor {
    const { cache, layer } = opts;
    const isCausal = opts.tgtIsCausal ?? cache !== undefined;
    const y = cache && canFuse(this, tgt) ? this.fusedDecode(tgt, memory, opts, cache, layer ?? 0) : null;
    if (y) return y;
    const saOpts = {
      attnMask: opts.tgtMask,
      keyPaddingMask: opts.tgtKeyPaddingMask,
      isCausal,
      cache,
      layer,
    };
    const sa = (x: Tensor) =>
      this.dropout1.forward(this.self_attn.forward(x, x, x, { ...saOpts, needWeights: false }).output);
    const mhaOpts = {
      attnMask: opts.memoryMask,
      keyPaddingMask: opts.memoryKeyPaddingMask,
      cache,
      layer,
      staticKV: true, // the memory's keys/values are the same at every step
    };
    const mha = (x: Tensor) =>
      this.dropout2.forward(
        this.multihead_attn.forward(x, memory, memory, { ...mhaOpts, needWeights: false }).output,
      );
    const ff = (x: Tensor) => this.dropout3.forward(feedForward(this, x));
    let x = tgt;
    if (this.normFirst) {
      x = add(x, sa(this.norm1.forward(x)));
      x = add(x, mha(this.norm2.forward(x)));
      return add(x, ff(this.norm3.forward(x)));
    }
    x = this.norm1.forward(add(x, sa(x)));
    x = this.norm2.forward(add(x, mha(x)));
    return this.norm3.forward(add(x, ff(x)));
  }

  /**
   * forward(tgt, memory, opts) with a cache as one fused layer call: the new keys/values go into
   * the cache in place, and the memory's keys/values are projected once per source into its
   * memory slot. Null when a mask is for the composed path to reject.
   */
  private fusedDecode(
    tgt: Tensor,
    memory: Tensor,
    opts: DecoderLayerForwardOptions,
    cache: KVCache,
    layer: number,
  ): Tensor | null {
    const [N, T, E] = tgt.shape;
    const H = this.nhead;
    const dtype = tgt.dtype as FloatDType;
    const { k, v, past } = cache.reserve(layer, [N, H, T, E / H], T, dtype);
    const mask = attentionMask(opts.tgtMask, opts.tgtKeyPaddingMask, [N, H, T, past + T], dtype);
    let mem = cache.memory(layer);
    const Sm = mem ? mem[0].shape[2] : memory.shape[1];
    const memMask = attentionMask(opts.memoryMask, opts.memoryKeyPaddingMask, [N, H, T, Sm], dtype);
    if (!mem && memory.ndim !== 3) return null;
    const ca = this.multihead_attn;
    if (!mem) {
      const m = crossAttentionMemory(memory, inProj(ca, 1), inProj(ca, 2), H); // (N, H, Sm, hd) each
      cache.setMemory(layer, m.k, m.v);
      mem = [m.k, m.v];
    }
    const cross = { q: inProj(ca, 0), out: ca.out_proj, norm: this.norm2 };
    const y = fusedTransformerLayer(
      tgt,
      { ...fusedWeights(this, this.norm3), cross },
      {
        ...fusedOptions(this),
        causal: (opts.tgtIsCausal ?? true) && !opts.tgtMask,
        mask,
        cache: { k, v, past },
        memory: { k: mem[0], v: mem[1], mask: memMask },
      },
    );
    cache.commit(layer, T);
    return y;
  }

  /** An independent copy with the same configuration, weights, dtype and mode. */
  clone(): TransformerDecoderLayer {
    const dtype = this.linear1.weight.dtype as FloatDType;
    return copyFrom(new TransformerDecoderLayer(this.dModel, this.nhead, { ...this.options, dtype }), this);
  }
}
