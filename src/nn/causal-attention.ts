/**
 * Causal self-attention from a packed q/k/v projection (GPT-2's `c_attn` output), over the
 * positions a {@link KVCache} holds as well as the new ones. One function, so a block has one
 * attention path whether it decodes with a cache or trains without one.
 */
import {
  contiguous,
  dropout,
  matmul,
  mul,
  narrow,
  qkvPackedAttention,
  reshape,
  scaledDotProductAttention,
  softmax,
  transpose,
  tril,
  where,
} from "../ops/index.js";
import { ones } from "../tensor/create.js";
import type { Tensor } from "../tensor/tensor.js";
import type { Generator } from "../util/rng.js";
import { shapeStr } from "../util/shape.js";
import type { KVCache } from "./kv-cache.js";

/**
 * Options of {@link causalSelfAttention}.
 * @example causalSelfAttention(qkv, 4, { cache, layer: 2 })
 */
export interface CausalSelfAttentionOptions {
  /** Earlier positions' keys/values: the new ones are appended to slot `layer`. */
  cache?: KVCache;
  /** The cache slot (default 0). */
  layer?: number;
  /** Dropout probability on the attention weights (default 0). */
  dropoutP?: number;
  generator?: Generator;
  /**
   * Appends the (B, nh, T, S) attention probabilities here; attention then runs as composed ops
   * ({@link causalSelfAttentionWithWeights}) instead of the fused kernels.
   */
  weights?: Tensor[];
}

/**
 * qkv (B, T, 3C) → (B, T, C): each of the T new positions attends to itself, the earlier new
 * positions and every cached one (bottom-right causal alignment: the T queries are the last T
 * of S = past + T keys). With nothing cached, S = T and the fused packed kernel reads the heads
 * where they lie (no split copies, and a (B, T, 3C) gradient written in one piece), which is
 * what training runs; with a cache, the new keys/values are written into it first.
 * @example const y = causalSelfAttention(cAttn.forward(x), nh, { cache, layer: i }); // (B, T, C)
 */
export function causalSelfAttention(
  qkv: Tensor,
  nHead: number,
  opts: CausalSelfAttentionOptions = {},
): Tensor {
  const { cache, dropoutP = 0, generator } = opts;
  if (opts.weights) {
    const { output, weights } = causalSelfAttentionWithWeights(qkv, nHead, opts);
    opts.weights.push(weights);
    return output;
  }
  if (!cache) return qkvPackedAttention(qkv, nHead, { isCausal: true, dropoutP, generator });
  const [B, T, C3] = qkv.shape;
  const C = C3 / 3;
  const heads = (i: number) => transpose(reshape(narrow(qkv, 2, i * C, C), [B, T, nHead, C / nHead]), 1, 2); // (B, nh, T, hs)
  const [k, v] = cache.update(opts.layer ?? 0, heads(1), heads(2)); // (B, nh, S, hs)
  const y = scaledDotProductAttention(heads(0), k, v, { causalBottomRight: true, dropoutP, generator }); // (B, nh, T, hs)
  return reshape(contiguous(transpose(y, 1, 2)), [B, T, C]); // heads merged: (B, T, C)
}

/**
 * {@link causalSelfAttention} written out as ops, also returning the attention probabilities
 * (HF's `output_attentions`): weights = softmax(q·kᵀ/√hs, future keys masked), (B, nh, T, S)
 * with S = past + T, after dropout when it is on (as HF returns them), and output = weights·v
 * merged to (B, T, C). It never takes the fused kernels, which keep no T×S matrix, so it is
 * for inspection (attention maps), not speed; gradients flow through both results.
 * @example const { output, weights } = causalSelfAttentionWithWeights(cAttn.forward(x), nh); // weights (B, nh, T, T)
 */
export function causalSelfAttentionWithWeights(
  qkv: Tensor,
  nHead: number,
  opts: CausalSelfAttentionOptions = {},
): { output: Tensor; weights: Tensor } {
  const { cache, dropoutP = 0, generator } = opts;
  if (qkv.ndim !== 3 || !Number.isInteger(nHead) || nHead < 1 || qkv.shape[2] % (3 * nHead) !== 0) {
    throw new Error(
      `causalSelfAttentionWithWeights: expected qkv (B, T, 3C) with C divisible by nHead, got ${shapeStr(qkv.shape)} and nHead ${nHead}`,
    );
  }
  const [B, T, C3] = qkv.shape;
  const C = C3 / 3;
  const hs = C / nHead;
  const heads = (i: number) => transpose(reshape(narrow(qkv, 2, i * C, C), [B, T, nHead, hs]), 1, 2); // (B, nh, T, hs)
  let k = heads(1);
  let v = heads(2);
  if (cache) [k, v] = cache.update(opts.layer ?? 0, k, v); // (B, nh, S, hs)
  const S = k.shape[2];
  const scores = mul(matmul(heads(0), transpose(k, -2, -1)), 1 / Math.sqrt(hs)); // (B, nh, T, S)
  // Query i (the (S − T + i)-th position) sees keys j ≤ S − T + i: bottom-right alignment.
  const allowed = tril(ones([T, S], { dtype: "bool" }), S - T);
  let weights = softmax(where(allowed, scores, Number.NEGATIVE_INFINITY), -1);
  if (dropoutP > 0) weights = dropout(weights, dropoutP, { training: true, generator });
  const y = matmul(weights, v); // (B, nh, T, hs)
  return { output: reshape(contiguous(transpose(y, 1, 2)), [B, T, C]), weights };
}
