/**
 * Scaled dot-product attention, softmax(Q·Kᵀ/√d_k + mask)·V ("Attention Is All You Need", §3.2.1).
 * Without dropout it runs the fused kernel, which never materialises the T×S weights for the
 * backward pass; with dropout it composes ops so the dropped weights are explicit.
 * {@link qkvPackedAttention} is multi-head self-attention read straight from a packed q/k/v projection.
 */
import { record } from "../autograd/graph.js";
import type { AttentionArgs, FloatArray, HeadLayout, Strided } from "../backend/backend.js";
import { ones } from "../tensor/create.js";
import { allocateUninit } from "../tensor/dtype.js";
import type { Tensor } from "../tensor/tensor.js";
import type { Generator } from "../util/rng.js";
import { sameShape, shapeStr, sizeOf } from "../util/shape.js";
import { backend, broadcastView, denseFloat, requireFloat, wrap } from "./core.js";
import { add, mul, where } from "./elementwise.js";
import { tril } from "./indexing.js";
import { matmul } from "./matmul.js";
import { dropout, softmax } from "./nn.js";
import { contiguous, expand, reshape, split, transpose } from "./shape.js";

/** Options of {@link scaledDotProductAttention}: the mask, causal masking, dropout on the weights and the scale. */
export interface AttentionOptions {
  /** Bool mask (true = may attend) or additive float mask, broadcastable to (…, T, S). */
  attnMask?: Tensor | null;
  /** Dropout probability on the attention weights (applied whenever > 0, as in PyTorch). */
  dropoutP?: number;
  /** Causal masking with PyTorch's top-left alignment: query i sees keys j ≤ i. */
  isCausal?: boolean;
  /**
   * Causal masking aligned to the bottom-right: query i sees keys j ≤ i + (S − T). This is what
   * decoding with a key/value cache needs (the T new queries are the last T positions).
   */
  causalBottomRight?: boolean;
  /** Defaults to 1/√d_k. */
  scale?: number;
  generator?: Generator;
}

/** Converts a bool mask to an additive one: 0 where allowed, −∞ where masked. */
function additiveMask(mask: Tensor, dtype: Tensor["dtype"]): Tensor {
  if (mask.dtype === "bool") return where(mask, 0, Number.NEGATIVE_INFINITY) as Tensor;
  if (mask.dtype !== dtype) {
    throw new Error(
      `scaledDotProductAttention: float attnMask must be ${dtype} like the query, got ${mask.dtype} of shape ${shapeStr(mask.shape)}`,
    );
  }
  return mask;
}

/**
 * Attention over the last two dims of q (…, T, D), k (…, S, D), v (…, S, Dv) → (…, T, Dv).
 * @example scaledDotProductAttention(q, k, v, { isCausal: true })
 */
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: AttentionOptions = {},
): Tensor {
  const op = "scaledDotProductAttention";
  for (const t of [q, k, v]) requireFloat(op, t);
  if (q.ndim < 2 || k.ndim !== q.ndim || v.ndim !== q.ndim) {
    throw new Error(
      `${op}: q, k, v must have the same rank ≥ 2, got ${shapeStr(q.shape)}, ${shapeStr(k.shape)}, ${shapeStr(v.shape)}`,
    );
  }
  const [T, D] = q.shape.slice(-2);
  const [S, Dk] = k.shape.slice(-2);
  const [Sv, Dv] = v.shape.slice(-2);
  if (Dk !== D || Sv !== S) {
    throw new Error(
      `${op}: incompatible shapes q ${shapeStr(q.shape)}, k ${shapeStr(k.shape)}, v ${shapeStr(v.shape)} (need k (…, S, ${D}) and v (…, S, Dv))`,
    );
  }
  const lead = q.shape.slice(0, -2);
  if (!sameShape(k.shape.slice(0, -2), lead) || !sameShape(v.shape.slice(0, -2), lead)) {
    throw new Error(
      `${op}: batch dims differ: q ${shapeStr(q.shape)}, k ${shapeStr(k.shape)}, v ${shapeStr(v.shape)}`,
    );
  }
  if (q.dtype !== k.dtype || q.dtype !== v.dtype) throw new Error(`${op}: q, k, v must share a dtype`);
  if (opts.isCausal && opts.attnMask) throw new Error(`${op}: pass either attnMask or isCausal, not both`);
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const p = opts.dropoutP ?? 0;
  let mask = opts.attnMask ? additiveMask(opts.attnMask, q.dtype) : null;
  let bottomRight = opts.causalBottomRight ?? false;
  if (opts.isCausal) {
    if (T === S) bottomRight = true;
    else mask = additiveMask(tril(ones([T, S], { dtype: "bool" })), q.dtype);
  }
  if (mask) {
    try {
      expand(mask, [...lead, T, S]);
    } catch {
      throw new Error(
        `${op}: attnMask of shape ${shapeStr(mask.shape)} cannot be broadcast to ${shapeStr([...lead, T, S])}`,
      );
    }
  }

  if (p > 0) {
    // Composite path: the dropped-out weights must be explicit.
    let scores = mul(matmul(q, transpose(k, -2, -1)), scale);
    if (mask) scores = add(scores, mask);
    if (bottomRight)
      scores = add(scores, additiveMask(tril(ones([T, S], { dtype: "bool" }), S - T), q.dtype));
    const attn = dropout(softmax(scores, -1), p, { training: true, generator: opts.generator });
    return matmul(attn, v);
  }

  // Fused path on contiguous (B, H, T, D) buffers.
  const B = lead.length >= 1 ? sizeOf(lead.slice(0, Math.max(lead.length - 1, 1))) : 1;
  const H = lead.length >= 2 ? lead[lead.length - 1] : 1;
  let maskView: Strided<FloatArray> | null = null;
  if (mask) {
    let m = expand(mask, [...lead, T, S]);
    if (lead.length > 2) m = contiguous(m);
    const view = broadcastView(m, [...lead, T, S]);
    const s = view.strides;
    const st = [
      lead.length >= 1 ? s[0] : 0,
      lead.length >= 2 ? s[lead.length - 1] : 0,
      s[s.length - 2],
      s[s.length - 1],
    ];
    if (lead.length > 2) st[0] = H * T * S;
    maskView = { data: view.data as FloatArray, offset: view.offset, strides: st };
  }
  const qd = denseFloat(op, q);
  const kd = denseFloat(op, k);
  const vd = denseFloat(op, v);
  const args = { B, H, T, S, D, Dv, q: qd, k: kd, v: vd, scale, isCausal: bottomRight, mask: maskView };
  const out = allocateUninit(q.dtype, B * H * T * Dv) as FloatArray;
  const lse = allocateUninit(q.dtype, B * H * T) as FloatArray;
  const be = backend();
  be.attentionForward({ ...args, out, lse });
  return record(
    wrap(out, [...lead, T, Dv]),
    op,
    [q, k, v],
    (g) => {
      const gq = allocateUninit(q.dtype, qd.length) as FloatArray;
      const gk = allocateUninit(q.dtype, kd.length) as FloatArray;
      const gv = allocateUninit(q.dtype, vd.length) as FloatArray;
      be.attentionBackward({ ...args, out, lse, gOut: denseFloat(op, g), gq, gk, gv });
      return [wrap(gq, q.shape), wrap(gk, k.shape), wrap(gv, v.shape)];
    },
    [lse],
  );
}

/**
 * Options of {@link qkvPackedAttention}.
 * @example qkvPackedAttention(qkv, 4, { isCausal: true, dropoutP: 0.1 })
 */
export interface PackedAttentionOptions {
  /** Causal masking: position i attends to positions j ≤ i. */
  isCausal?: boolean;
  /** Bool or additive mask broadcastable to (B, nHead, T, T); takes the unfused path. */
  attnMask?: Tensor | null;
  /** Dropout probability on the attention weights; > 0 takes the unfused path. */
  dropoutP?: number;
  /** Defaults to 1/√hs. */
  scale?: number;
  generator?: Generator;
}

/**
 * Multi-head self-attention from a packed projection: qkv (B, T, 3C) holds q, k and v side by side
 * (GPT-2's `c_attn` output), head h using columns h·hs … (h+1)·hs of each (hs = C / nHead); returns
 * the heads merged, (B, T, C). Equal to splitting qkv, viewing each part as (B, nHead, T, hs),
 * {@link scaledDotProductAttention} and merging back, but the fused kernels read the heads where they
 * lie and write the merged layout (and the backward writes the (B, T, 3C) gradient) with no copies.
 * @example const y = qkvPackedAttention(cAttn.forward(x), 4, { isCausal: true }); // (B, T, C)
 */
export function qkvPackedAttention(qkv: Tensor, nHead: number, opts: PackedAttentionOptions = {}): Tensor {
  const op = "qkvPackedAttention";
  requireFloat(op, qkv);
  if (qkv.ndim !== 3 || !Number.isInteger(nHead) || nHead < 1 || qkv.shape[2] % (3 * nHead) !== 0) {
    throw new Error(
      `${op}: expected qkv (B, T, 3C) with C divisible by nHead, got ${shapeStr(qkv.shape)} and nHead ${nHead}`,
    );
  }
  const [B, T, C3] = qkv.shape;
  const C = C3 / 3;
  const H = nHead;
  const hs = C / H;
  const p = opts.dropoutP ?? 0;
  if (opts.isCausal && opts.attnMask) throw new Error(`${op}: pass either attnMask or isCausal, not both`);
  if (p > 0 || opts.attnMask) {
    // Unfused: dropout needs the weights explicit; a mask goes through scaledDotProductAttention's checks.
    const heads = (t: Tensor) => transpose(reshape(t, [B, T, H, hs]), 1, 2); // (B, nh, T, hs)
    const [q, k, v] = split(qkv, C, 2);
    const y = scaledDotProductAttention(heads(q), heads(k), heads(v), opts); // (B, nh, T, hs)
    return reshape(contiguous(transpose(y, 1, 2)), [B, T, C]);
  }
  const data = denseFloat(op, qkv);
  // Head h of q is at columns h·hs of each (B, T, 3C) row; k and v follow at C and 2C.
  const part = (offset: number): HeadLayout => ({ offset, batch: T * C3, head: hs, row: C3 });
  const args: AttentionArgs = {
    B,
    H,
    T,
    S: T,
    D: hs,
    Dv: hs,
    q: data,
    k: data,
    v: data,
    scale: opts.scale ?? 1 / Math.sqrt(hs),
    isCausal: opts.isCausal ?? false,
    mask: null,
    layout: { q: part(0), k: part(C), v: part(2 * C), out: { offset: 0, batch: T * C, head: hs, row: C } },
  };
  const out = allocateUninit(qkv.dtype, B * T * C) as FloatArray;
  const lse = allocateUninit(qkv.dtype, B * H * T) as FloatArray;
  const be = backend();
  be.attentionForward({ ...args, out, lse });
  return record(
    wrap(out, [B, T, C]),
    op,
    [qkv],
    (g) => {
      // The three gradients interleave in one (B, T, 3C) buffer, which the kernel covers exactly.
      const gqkv = allocateUninit(qkv.dtype, B * T * C3) as FloatArray;
      be.attentionBackward({ ...args, out, lse, gOut: denseFloat(op, g), gq: gqkv, gk: gqkv, gv: gqkv });
      return [wrap(gqkv, qkv.shape)];
    },
    [lse],
  );
}
