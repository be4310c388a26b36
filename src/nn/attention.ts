/**
 * nn.MultiheadAttention ("Attention Is All You Need", §3.2.2) with torch.nn.MultiheadAttention's
 * semantics, mask conventions and state-dict names. Incremental decoding keeps its keys/values in
 * a slot of the shared {@link KVCache}: appended for self-attention, stored once for a memory.
 */
import {
  add,
  contiguous,
  dropout as dropoutOp,
  linear,
  matmul,
  mean,
  mul,
  narrow,
  reshape,
  scaledDotProductAttention,
  softmax,
  split,
  squeeze,
  to,
  transpose,
  tril,
  unsqueeze,
  where,
} from "../ops/index.js";
import { ones, zeros } from "../tensor/create.js";
import { empty } from "../tensor/create-internal.js";
import type { FloatDType } from "../tensor/dtype.js";
import type { Tensor } from "../tensor/tensor.js";
import type { Generator } from "../util/rng.js";
import { shapeStr } from "../util/shape.js";
import { xavierUniform_, zeros_ } from "./init.js";
import type { KVCache } from "./kv-cache.js";
import { Linear } from "./linear.js";
import { Module, Parameter } from "./module.js";

/**
 * An additive float mask from an nn.MultiheadAttention-style mask: a bool mask is true where
 * attention is NOT allowed (→ −∞, else 0); a float mask is added as is (cast to `dtype`).
 * @example toAdditiveMask(keyPaddingMask, "float32") // true → −∞
 */
export function toAdditiveMask(mask: Tensor, dtype: FloatDType): Tensor {
  if (mask.dtype === "bool") return where(mask, Number.NEGATIVE_INFINITY, zeros([], { dtype }));
  if (mask.dtype !== "float32" && mask.dtype !== "float64") {
    throw new Error(
      `attention mask must be bool or floating point, got ${mask.dtype} of shape ${shapeStr(mask.shape)}`,
    );
  }
  return to(mask, dtype);
}

/**
 * A torch-style attention mask ((L, S) or (N·H, L, S); bool true = not allowed, or additive) and
 * key padding mask ((N, S); bool true = padding) as one additive mask broadcastable to
 * (N, H, L, S), or null when neither is given. Shared by MultiheadAttention and the fused layers.
 * @example const m = attentionMask(tgtMask, tgtKeyPaddingMask, [N, H, L, S], "float32");
 */
export function attentionMask(
  attnMask: Tensor | null | undefined,
  keyPaddingMask: Tensor | null | undefined,
  [N, H, L, S]: readonly number[],
  dtype: FloatDType,
): Tensor | null {
  let mask: Tensor | null = null;
  if (attnMask) {
    if (attnMask.hasShape([L, S]))
      mask = toAdditiveMask(attnMask, dtype); // (L, S)
    else if (attnMask.hasShape([N * H, L, S])) mask = reshape(toAdditiveMask(attnMask, dtype), [N, H, L, S]);
    else
      throw new Error(
        `MultiheadAttention: attnMask of shape ${shapeStr(attnMask.shape)} must be (${L}, ${S}) or (${N * H}, ${L}, ${S})`,
      );
  }
  if (keyPaddingMask) {
    if (!keyPaddingMask.hasShape([N, S]))
      throw new Error(
        `MultiheadAttention: keyPaddingMask of shape ${shapeStr(keyPaddingMask.shape)} must be (${N}, ${S})`,
      );
    const km = reshape(toAdditiveMask(keyPaddingMask, dtype), [N, 1, 1, S]);
    mask = mask ? add(mask, km) : km;
  }
  return mask;
}

/**
 * Additive causal mask (L, S): query i may see keys j ≤ i + offset (0 there, −∞ elsewhere).
 * offset 0 is PyTorch's top-left alignment; S − L aligns to the bottom right (KV caches).
 * @example causalMask(3, 5, "float32", 2) // the 3 new queries after 2 cached positions
 */
export function causalMask(L: number, S: number, dtype: FloatDType = "float32", offset = 0): Tensor {
  const allowed = tril(ones([L, S], { dtype: "bool" }), offset); // (L, S)
  return where(allowed, zeros([], { dtype }), Number.NEGATIVE_INFINITY);
}

/**
 * Constructor options of MultiheadAttention (PyTorch's keyword arguments, camel-cased).
 * @example new MultiheadAttention(16, 2, { dropout: 0.1, kdim: 6, vdim: 10, batchFirst: true })
 */
export interface MultiheadAttentionOptions {
  /** Dropout probability on the attention weights in training (default 0). */
  dropout?: number;
  /** Biases on the input and output projections (default true). */
  bias?: boolean;
  /** Feature size of `key` (default embedDim). */
  kdim?: number;
  /** Feature size of `value` (default embedDim). */
  vdim?: number;
  /** Inputs and outputs are (N, L, E) instead of PyTorch's default (L, N, E). */
  batchFirst?: boolean;
  dtype?: FloatDType;
  /** Drives initialisation and attention dropout. */
  generator?: Generator;
}

/**
 * Options of MultiheadAttention.forward.
 * @example mha.forward(q, k, v, { keyPaddingMask, attnMask, needWeights: false })
 */
export interface MultiheadAttentionForwardOptions {
  /** (N, S): bool with true = ignore that key, or an additive float mask. */
  keyPaddingMask?: Tensor | null;
  /** Return the attention weights (default true, as PyTorch); false takes the fused kernel. */
  needWeights?: boolean;
  /**
   * (L, S) or (N·numHeads, L, S): bool with true = NOT allowed (the opposite of
   * scaledDotProductAttention's convention), or an additive float mask.
   */
  attnMask?: Tensor | null;
  /** Average the returned weights over heads (default true). */
  averageAttnWeights?: boolean;
  /**
   * Causal attention when no attnMask is given (with one, the mask is used as is, taken to be
   * causal as PyTorch's hint). Top-left aligned, or bottom-right when a cache is in use.
   */
  isCausal?: boolean;
  /**
   * Incremental decoding: the keys/values of earlier calls live in slot `layer` of this cache.
   * Self-attention appends the new positions' keys/values; with `staticKV` they are projected
   * once from key/value and reused (the inputs of later calls are then ignored).
   */
  cache?: KVCache;
  /** The cache slot of this attention (default 0): a decoder's layer index. */
  layer?: number;
  /** Cross-attention over a fixed memory: with a cache, key/value are projected on the first call only. */
  staticKV?: boolean;
}

/**
 * What MultiheadAttention.forward returns.
 * @example const { output, weights } = mha.forward(x, x, x);
 */
export interface MultiheadAttentionOutput {
  /** (N, L, E) with batchFirst, else (L, N, E); (L, E) for unbatched input. */
  output: Tensor;
  /** (N, L, S) averaged or (N, H, L, S) per head; null unless needWeights. */
  weights: Tensor | null;
}

/**
 * Multi-head attention as torch.nn.MultiheadAttention: packed `in_proj_weight` (3E, E) and
 * `in_proj_bias` when kdim = vdim = E, else `q_proj_weight`, `k_proj_weight`, `v_proj_weight`;
 * `out_proj` is a Linear. A PyTorch state dict loads directly.
 * @example
 * const mha = new MultiheadAttention(16, 2, { batchFirst: true });
 * const { output, weights } = mha.forward(x, x, x, { keyPaddingMask }); // (N, L, 16), (N, L, L)
 */
export class MultiheadAttention extends Module {
  readonly kdim: number;
  readonly vdim: number;
  readonly headDim: number;
  readonly batchFirst: boolean;
  /** Attention-weight dropout probability (a number, as PyTorch's `dropout` attribute). */
  readonly dropout: number;
  readonly generator?: Generator;
  in_proj_weight: Parameter | null = null;
  q_proj_weight: Parameter | null = null;
  k_proj_weight: Parameter | null = null;
  v_proj_weight: Parameter | null = null;
  in_proj_bias: Parameter | null = null;
  out_proj: Linear;

  constructor(
    readonly embedDim: number,
    readonly numHeads: number,
    opts: MultiheadAttentionOptions = {},
  ) {
    super();
    const E = embedDim;
    this.headDim = Math.floor(E / numHeads);
    if (!(numHeads > 0) || this.headDim * numHeads !== E) {
      throw new Error(`MultiheadAttention: embedDim ${E} must be divisible by numHeads ${numHeads}`);
    }
    this.kdim = opts.kdim ?? E;
    this.vdim = opts.vdim ?? E;
    this.batchFirst = opts.batchFirst ?? false;
    this.dropout = opts.dropout ?? 0;
    this.generator = opts.generator;
    const dtype = opts.dtype ?? "float32";
    const g = opts.generator;
    if (this.kdim === E && this.vdim === E) {
      this.in_proj_weight = new Parameter(empty([3 * E, E], dtype));
      xavierUniform_(this.in_proj_weight, 1, g);
    } else {
      this.q_proj_weight = new Parameter(empty([E, E], dtype));
      this.k_proj_weight = new Parameter(empty([E, this.kdim], dtype));
      this.v_proj_weight = new Parameter(empty([E, this.vdim], dtype));
      for (const w of [this.q_proj_weight, this.k_proj_weight, this.v_proj_weight]) xavierUniform_(w, 1, g);
    }
    const bias = opts.bias ?? true;
    if (bias) this.in_proj_bias = new Parameter(zeros([3 * E], { dtype }));
    this.out_proj = new Linear(E, E, { bias, dtype, generator: g });
    if (this.out_proj.bias) zeros_(this.out_proj.bias);
  }

  /** Rows [i·E, (i+1)·E) of the packed weight, or the separate projection i (0 = q, 1 = k, 2 = v). */
  private projection(i: 0 | 1 | 2): [Tensor, Tensor | null] {
    const E = this.embedDim;
    const b = this.in_proj_bias ? narrow(this.in_proj_bias, 0, i * E, E) : null;
    if (this.in_proj_weight) return [narrow(this.in_proj_weight, 0, i * E, E), b];
    return [[this.q_proj_weight, this.k_proj_weight, this.v_proj_weight][i]!, b];
  }

  /** Projects q, k, v inputs (N, ·, ·) to (N, ·, E) each, fusing the gemms for self-attention. */
  private project(q: Tensor, k: Tensor, v: Tensor, needKV: boolean): [Tensor, Tensor | null, Tensor | null] {
    const E = this.embedDim;
    const W = this.in_proj_weight;
    const b = this.in_proj_bias;
    if (W && needKV && q === k && k === v) {
      const [pq, pk, pv] = split(linear(q, W, b), E, -1); // 3 × (N, L, E)
      return [pq, pk, pv];
    }
    const pq = linear(q, ...this.projection(0));
    if (!needKV) return [pq, null, null];
    if (W && k === v) {
      const kvB = b ? narrow(b, 0, E, 2 * E) : null;
      const [pk, pv] = split(linear(k, narrow(W, 0, E, 2 * E), kvB), E, -1); // 2 × (N, S, E)
      return [pq, pk, pv];
    }
    return [pq, linear(k, ...this.projection(1)), linear(v, ...this.projection(2))];
  }

  /**
   * Attends from `query` to `key`/`value` (self-attention when all three are the same tensor).
   * Shapes: (N, L, E), (N, S, kdim), (N, S, vdim) with batchFirst, else sequence first; 2-D
   * inputs are one unbatched sequence.
   */
  forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    opts: MultiheadAttentionForwardOptions = {},
  ): MultiheadAttentionOutput {
    const E = this.embedDim;
    const H = this.numHeads;
    const hd = this.headDim;
    const batched = query.ndim === 3;
    if (!batched && query.ndim !== 2) {
      throw new Error(`MultiheadAttention: query must be (L, E) or 3-D, got ${shapeStr(query.shape)}`);
    }
    if (key.ndim !== query.ndim || value.ndim !== query.ndim) {
      throw new Error(
        `MultiheadAttention: query ${shapeStr(query.shape)}, key ${shapeStr(key.shape)} and value ${shapeStr(value.shape)} must have the same rank`,
      );
    }
    // Batch first internally: (N, L, ·).
    const layout = (x: Tensor) => (!batched ? unsqueeze(x, 0) : this.batchFirst ? x : transpose(x, 0, 1));
    const q = layout(query);
    const k = key === query ? q : layout(key);
    const v = value === key ? k : layout(value);
    const [N, L] = q.shape;
    if (q.shape[2] !== E)
      throw new Error(`MultiheadAttention: query feature size ${q.shape[2]} must equal embedDim ${E}`);
    const cache = opts.cache;
    const slot = opts.layer ?? 0;
    const stored = cache && opts.staticKV ? cache.memory(slot) : null;
    if (!stored) {
      if (k.shape[0] !== N || v.shape[0] !== N || k.shape[1] !== v.shape[1]) {
        throw new Error(
          `MultiheadAttention: key ${shapeStr(key.shape)} and value ${shapeStr(value.shape)} do not match query ${shapeStr(query.shape)} in batch or each other in length`,
        );
      }
      if (k.shape[2] !== this.kdim || v.shape[2] !== this.vdim) {
        throw new Error(
          `MultiheadAttention: key/value feature sizes ${k.shape[2]}/${v.shape[2]} must be kdim ${this.kdim}/vdim ${this.vdim}`,
        );
      }
    }

    const [pq, pk, pv] = this.project(q, k, v, !stored);
    const heads = (x: Tensor) => transpose(reshape(x, [N, x.shape[1], H, hd]), 1, 2); // (N, H, ·, hd)
    const qh = heads(pq); // (N, H, L, hd)
    let kh: Tensor; // (N, H, S, hd)
    let vh: Tensor;
    if (stored) [kh, vh] = stored;
    else if (cache && opts.staticKV) {
      [kh, vh] = [contiguous(heads(pk!)), contiguous(heads(pv!))]; // laid out once, read every step
      cache.setMemory(slot, kh, vh);
    } else {
      [kh, vh] = [heads(pk!), heads(pv!)];
      if (cache) [kh, vh] = cache.update(slot, kh, vh); // (N, H, S_past + S_new, hd)
    }
    if (kh.shape[0] !== N)
      throw new Error(`MultiheadAttention: cache holds batch ${kh.shape[0]}, query has ${N}`);
    const S = kh.shape[2];

    let kpm = opts.keyPaddingMask ?? null;
    if (kpm && !batched && kpm.ndim === 1) kpm = unsqueeze(kpm, 0);
    const dtype = q.dtype as FloatDType;
    let mask = attentionMask(opts.attnMask, kpm, [N, H, L, S], dtype); // additive, broadcast to (N, H, L, S)
    const causal = (opts.isCausal ?? false) && !opts.attnMask;
    const bottomRight = cache !== undefined || L === S;
    const needWeights = opts.needWeights ?? true;
    const p = this.training ? this.dropout : 0;

    let out: Tensor; // (N, H, L, hd)
    let weights: Tensor | null = null;
    if (!needWeights) {
      const sdpaCausal = causal && mask === null;
      if (causal && mask) mask = add(mask, causalMask(L, S, dtype, bottomRight ? S - L : 0));
      out = scaledDotProductAttention(qh, kh, vh, {
        attnMask: mask,
        dropoutP: p,
        isCausal: sdpaCausal && !bottomRight,
        causalBottomRight: sdpaCausal && bottomRight,
        generator: this.generator,
      });
    } else {
      if (causal) {
        const cm = causalMask(L, S, dtype, bottomRight ? S - L : 0);
        mask = mask ? add(mask, cm) : cm;
      }
      let scores = matmul(mul(qh, 1 / Math.sqrt(hd)), transpose(kh, -2, -1)); // (N, H, L, S)
      if (mask) scores = add(scores, mask);
      let attn = softmax(scores, -1);
      attn = dropoutOp(attn, p, { training: p > 0, generator: this.generator });
      out = matmul(attn, vh);
      weights = (opts.averageAttnWeights ?? true) ? mean(attn, 1) : attn; // (N, L, S) or (N, H, L, S)
      if (!batched) weights = squeeze(weights, 0);
    }
    let y = this.out_proj.forward(reshape(transpose(out, 1, 2), [N, L, E])); // (N, L, E)
    y = !batched ? squeeze(y, 0) : this.batchFirst ? y : transpose(y, 0, 1);
    return { output: y, weights };
  }
}
