/**
 * Causal self-attention from a packed q/k/v projection (GPT-2's `c_attn` output), over the
 * positions a {@link KVCache} holds as well as the new ones. One function, so a block has one
 * attention path whether it decodes with a cache or trains without one.
 */
import {
  contiguous,
  narrow,
  qkvPackedAttention,
  reshape,
  scaledDotProductAttention,
  transpose,
} from "../ops/index.js";
import type { Tensor } from "../tensor/tensor.js";
import type { Generator } from "../util/rng.js";
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
  if (!cache) return qkvPackedAttention(qkv, nHead, { isCausal: true, dropoutP, generator });
  const [B, T, C3] = qkv.shape;
  const C = C3 / 3;
  const heads = (i: number) => transpose(reshape(narrow(qkv, 2, i * C, C), [B, T, nHead, C / nHead]), 1, 2); // (B, nh, T, hs)
  const [k, v] = cache.update(opts.layer ?? 0, heads(1), heads(2)); // (B, nh, S, hs)
  const y = scaledDotProductAttention(heads(0), k, v, { causalBottomRight: true, dropoutP, generator }); // (B, nh, T, hs)
  return reshape(contiguous(transpose(y, 1, 2)), [B, T, C]); // heads merged: (B, T, C)
}
