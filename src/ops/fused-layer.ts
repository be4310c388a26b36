/**
 * One transformer layer as a single fused kernel, for inference: the optional capability
 * `backend().fused.transformerLayer` (src/backend/fused.ts) behind one validated op. It is not a
 * fallback and has none: a model asks {@link hasFusedTransformerLayer} and otherwise runs its own
 * composed forward, which is the reference this op is tested against.
 */
import { isGradEnabled, needsGrad } from "../autograd/graph.js";
import type { FloatArray, Strided, UnaryOp } from "../backend/backend.js";
import { allocateUninit } from "../tensor/dtype.js";
import type { Tensor } from "../tensor/tensor.js";
import { isTransposedMatrix, shapeStr } from "../util/shape.js";
import { backend, broadcastView, dense, requireFloat, scalarFor, wrap } from "./core.js";
import { where } from "./elementwise.js";
import { linear } from "./matmul.js";
import { contiguous, reshape, transpose } from "./shape.js";

/**
 * A Linear layer's parameters: weight (out, in), optional bias (out).
 * @example const p: LinearParams = { weight: lin.weight, bias: lin.bias };
 */
export interface LinearParams {
  weight: Tensor;
  bias?: Tensor | null;
}

/**
 * A LayerNorm's affine terms (C), either absent.
 * @example const n: NormParams = { weight: ln.weight, bias: ln.bias };
 */
export interface NormParams {
  weight?: Tensor | null;
  bias?: Tensor | null;
}

/**
 * The parameters of one layer. `qkv` is packed (3C, C), as GPT-2's c_attn and
 * nn.MultiheadAttention's in_proj store it, or three (C, C) projections, as BERT's are.
 * `norm1` belongs to the self-attention sublayer, `cross.norm` to the cross-attention one and
 * `norm3` to the feed-forward one, before (pre-norm) or after (post-norm) each.
 * @example
 * const w: FusedLayerWeights = {
 *   qkv: { weight: attn.c_attn.weight, bias: attn.c_attn.bias }, attnOut: { weight: attn.c_proj.weight, bias: attn.c_proj.bias },
 *   norm1: ln_1, fc: mlp.c_fc, proj: mlp.c_proj, norm3: ln_2,
 * };
 */
export interface FusedLayerWeights {
  qkv: LinearParams | { q: LinearParams; k: LinearParams; v: LinearParams };
  attnOut: LinearParams;
  norm1: NormParams;
  /** The cross-attention sublayer of an encoder-decoder's decoder layer; its keys and values come from opts.memory. */
  cross?: { q: LinearParams; out: LinearParams; norm: NormParams } | null;
  /** (F, C) */
  fc: LinearParams;
  /** (C, F) */
  proj: LinearParams;
  norm3: NormParams;
}

/**
 * Options of {@link fusedTransformerLayer}.
 * @example { nHead: 12, normFirst: true, activation: "geluTanh", causal: true, cache: { k, v, past } }
 */
export interface FusedLayerOptions {
  nHead: number;
  /** Pre-norm (GPT-2) or post-norm (BERT; torch.nn.Transformer's default). */
  normFirst: boolean;
  /** Activation of the feed-forward sublayer: "geluTanh" (GPT-2), "gelu" (BERT), "relu" (torch). */
  activation: UnaryOp;
  /** Self-attention query t sees keys up to past + t (default false). */
  causal?: boolean;
  /** Epsilon of every norm (default 1e-5). */
  eps?: number;
  /** Self-attention mask, bool (true = may attend) or additive, broadcastable to (B, nHead, T, past + T). */
  mask?: Tensor | null;
  /**
   * Key/value cache of this layer: contiguous (B, nHead, cap, hs) storage whose first `past`
   * positions are filled; rows past … past + T − 1 are written in place (as KVCache.reserve gives).
   */
  cache?: { k: Tensor; v: Tensor; past: number } | null;
  /**
   * The cross-attention's memory, already projected: keys and values (B, nHead, Sm, hs) (see
   * {@link crossAttentionMemory}), and an optional mask broadcastable to (B, nHead, T, Sm).
   */
  memory?: { k: Tensor; v: Tensor; mask?: Tensor | null } | null;
}

const OP = "fusedTransformerLayer";

/**
 * Whether the current backend declares a fused transformer layer for this dtype.
 * @example if (!isGradEnabled() && hasFusedTransformerLayer(x.dtype)) return fusedTransformerLayer(x, w, opts);
 */
export function hasFusedTransformerLayer(dtype: Tensor["dtype"]): boolean {
  const layer = backend().fused?.transformerLayer;
  return layer !== undefined && (layer.dtypes as readonly string[]).includes(dtype);
}

/**
 * x (B, T, C) → one transformer layer (see TransformerLayerArgs in src/backend/fused.ts), run as
 * one kernel of the backend's fused capability. Inference only: it records no gradient. Throws
 * naming the op on bad shapes, or when the backend lacks the capability (ask
 * {@link hasFusedTransformerLayer} first and run the composed forward otherwise).
 * @example
 * const { k, v, past } = cache.reserve(layer, [B, nh, T, C / nh], T, x.dtype, blockSize);
 * const y = fusedTransformerLayer(x, w, { nHead: nh, normFirst: true, activation: "geluTanh", causal: true, cache: { k, v, past } });
 * cache.commit(layer, T);
 */
export function fusedTransformerLayer(x: Tensor, w: FusedLayerWeights, opts: FusedLayerOptions): Tensor {
  requireFloat(OP, x);
  if (x.ndim !== 3) throw new Error(`${OP}: x must be (B, T, C), got ${shapeStr(x.shape)}`);
  const [B, T, C] = x.shape;
  const H = opts.nHead;
  if (!(Number.isInteger(H) && H > 0 && C % H === 0))
    throw new Error(`${OP}: nHead ${H} must divide the width C = ${C}`);
  if (B === 0 || T === 0) throw new Error(`${OP}: x ${shapeStr(x.shape)} has no tokens`);
  const hs = C / H;

  const F = w.fc.weight.shape[0];
  if ("weight" in w.qkv) checkLinear(x, "qkv", w.qkv, 3 * C, C);
  else {
    checkLinear(x, "qkv.q", w.qkv.q, C, C);
    checkLinear(x, "qkv.k", w.qkv.k, C, C);
    checkLinear(x, "qkv.v", w.qkv.v, C, C);
  }
  checkLinear(x, "attnOut", w.attnOut, C, C);
  checkNorm(x, "norm1", w.norm1);
  if (!(F > 0))
    throw new Error(`${OP}: fc.weight must be (F, ${C}) with F > 0, got ${shapeStr(w.fc.weight.shape)}`);
  checkLinear(x, "fc", w.fc, F, C);
  checkLinear(x, "proj", w.proj, C, F);
  checkNorm(x, "norm3", w.norm3);

  // Self-attention's cache.
  let past = 0;
  let cap = 0;
  const cache = opts.cache ?? null;
  if (cache) {
    const { k, v } = cache;
    if (k.ndim !== 4 || k.shape[0] !== B || k.shape[1] !== H || k.shape[3] !== hs || !v.hasShape(k.shape))
      throw new Error(
        `${OP}: cache k and v must both be (${B}, ${H}, cap, ${hs}) for x ${shapeStr(x.shape)}, got ${shapeStr(k.shape)} and ${shapeStr(v.shape)}`,
      );
    cap = k.shape[2];
    past = cache.past;
    if (!(Number.isInteger(past) && past >= 0 && past + T <= cap))
      throw new Error(`${OP}: ${past} cached + ${T} new positions do not fit a cache of ${cap}`);
    if (!k.isContiguous() || !v.isContiguous())
      throw new Error(`${OP}: the cache k and v must be contiguous`);
    if (k.dtype !== x.dtype || v.dtype !== x.dtype)
      throw new Error(`${OP}: cache k and v must be ${x.dtype} like x, got ${k.dtype} and ${v.dtype}`);
  }
  const S = past + T;
  const mask = opts.mask ? maskView("mask", opts.mask, [B, H, T, S], x.dtype) : null;

  // Cross-attention against the memory.
  const memory = opts.memory ?? null;
  const cross = w.cross ?? null;
  if (!memory !== !cross) throw new Error(`${OP}: weights.cross and opts.memory come together`);
  let Sm = 0;
  let memMask: Strided<FloatArray> | null = null;
  if (memory && cross) {
    const { k, v } = memory;
    if (k.ndim !== 4 || k.shape[0] !== B || k.shape[1] !== H || k.shape[3] !== hs || !v.hasShape(k.shape))
      throw new Error(
        `${OP}: memory k and v must both be (${B}, ${H}, Sm, ${hs}) for x ${shapeStr(x.shape)}, got ${shapeStr(k.shape)} and ${shapeStr(v.shape)}`,
      );
    Sm = k.shape[2];
    if (Sm === 0) throw new Error(`${OP}: the memory has no positions`);
    if (k.dtype !== x.dtype || v.dtype !== x.dtype)
      throw new Error(`${OP}: memory k and v must be ${x.dtype} like x, got ${k.dtype} and ${v.dtype}`);
    checkLinear(x, "cross.q", cross.q, C, C);
    checkLinear(x, "cross.out", cross.out, C, C);
    checkNorm(x, "cross.norm", cross.norm);
    if (memory.mask) memMask = maskView("memory.mask", memory.mask, [B, H, T, Sm], x.dtype);
  }
  if (isGradEnabled() && needsGrad(x, cache?.k, cache?.v, memory?.k, memory?.v, ...params(w)))
    throw new Error(`${OP}: inference only (no gradient); call it under withNoGrad()`);
  const layer = backend().fused?.transformerLayer;
  if (!layer || !(layer.dtypes as readonly string[]).includes(x.dtype))
    throw new Error(
      `${OP}: the ${backend().name} backend has no fused transformer layer for ${x.dtype}; run the composed forward`,
    );

  const d = (t: Tensor | null | undefined): FloatArray | null => (t ? dense<FloatArray>(t) : null);
  // Weights that all view (in, out) storage (GPT-2's Conv1D, as loaded) go to the kernel as they
  // lie, flagged; otherwise every weight goes (out, in) row-major (copied if it is not).
  const linears = [
    ...("weight" in w.qkv ? [w.qkv] : [w.qkv.q, w.qkv.k, w.qkv.v]),
    w.attnOut,
    w.fc,
    w.proj,
    ...(cross ? [cross.q, cross.out] : []),
  ];
  const wT = linears.every((l) => isTransposedMatrix(l.weight.shape, l.weight.strides));
  const W = (t: Tensor): FloatArray => (wT ? storageOf(t) : dense<FloatArray>(t));
  let qkv: (FloatArray | null)[];
  if ("weight" in w.qkv && wT) {
    // (C, 3C) row-major: q, k, v are column blocks, starting 0, C and 2C elements in
    const all = storageOf(w.qkv.weight);
    const [qB, kB, vB] = w.qkv.bias ? thirds(dense<FloatArray>(w.qkv.bias)) : [null, null, null];
    qkv = [all, qB, all.subarray(C), kB, all.subarray(2 * C), vB];
  } else if ("weight" in w.qkv) {
    const [qW, kW, vW] = thirds(dense<FloatArray>(w.qkv.weight));
    const [qB, kB, vB] = w.qkv.bias ? thirds(dense<FloatArray>(w.qkv.bias)) : [null, null, null];
    qkv = [qW, qB, kW, kB, vW, vB];
  } else {
    const { q, k, v } = w.qkv;
    qkv = [W(q.weight), d(q.bias), W(k.weight), d(k.bias)];
    qkv.push(W(v.weight), d(v.bias));
  }
  const out = allocateUninit(x.dtype, B * T * C) as FloatArray; // the kernel writes every element
  layer.forward(
    {
      B,
      T,
      C,
      H,
      F,
      past,
      cap,
      Sm,
      eps: opts.eps ?? 1e-5,
      normFirst: opts.normFirst,
      causal: opts.causal ?? false,
      weightsTransposed: wT,
      activation: opts.activation,
      x: dense<FloatArray>(x),
      norm1W: d(w.norm1.weight),
      norm1B: d(w.norm1.bias),
      qW: qkv[0]!,
      qB: qkv[1],
      kW: qkv[2]!,
      kB: qkv[3],
      vW: qkv[4]!,
      vB: qkv[5],
      outW: W(w.attnOut.weight),
      outB: d(w.attnOut.bias),
      mask,
      k: cache ? dense<FloatArray>(cache.k) : null,
      v: cache ? dense<FloatArray>(cache.v) : null,
      norm2W: d(cross?.norm.weight),
      norm2B: d(cross?.norm.bias),
      crossQW: cross ? W(cross.q.weight) : null,
      crossQB: d(cross?.q.bias),
      crossOutW: cross ? W(cross.out.weight) : null,
      crossOutB: d(cross?.out.bias),
      memoryK: memory ? dense<FloatArray>(memory.k) : null,
      memoryV: memory ? dense<FloatArray>(memory.v) : null,
      memoryMask: memMask,
      norm3W: d(w.norm3.weight),
      norm3B: d(w.norm3.bias),
      fcW: W(w.fc.weight),
      fcB: d(w.fc.bias),
      projW: W(w.proj.weight),
      projB: d(w.proj.bias),
    },
    out,
  );
  return wrap(out, [B, T, C]);
}

/** The (in, out) storage under a transposed-view weight, as a dense array. */
function storageOf(t: Tensor): FloatArray {
  return t.data.subarray(t.offset, t.offset + t.numel()) as FloatArray;
}

function checkParam(x: Tensor, name: string, t: Tensor, shape: number[]): void {
  if (!t.hasShape(shape) || t.dtype !== x.dtype)
    throw new Error(
      `${OP}: ${name} must be ${x.dtype} ${shapeStr(shape)} for x ${shapeStr(x.shape)}, got ${t.dtype} ${shapeStr(t.shape)}`,
    );
}

function checkLinear(x: Tensor, name: string, p: LinearParams, out: number, inp: number): void {
  const { weight: w, bias: b } = p;
  if (!w) throw new Error(`${OP}: ${name}.weight is required`);
  if (w.ndim !== 2 || w.shape[0] !== out || w.shape[1] !== inp || w.dtype !== x.dtype)
    checkParam(x, `${name}.weight`, w, [out, inp]);
  if (b && (b.ndim !== 1 || b.shape[0] !== out || b.dtype !== x.dtype))
    checkParam(x, `${name}.bias`, b, [out]);
}

function checkNorm(x: Tensor, name: string, p: NormParams): void {
  const C = x.shape[2];
  for (const [part, t] of [
    ["weight", p.weight],
    ["bias", p.bias],
  ] as const)
    if (t && (t.ndim !== 1 || t.shape[0] !== C || t.dtype !== x.dtype))
      checkParam(x, `${name}.${part}`, t, [C]);
}

/** Every parameter tensor of a layer (for the gradient check). */
function params(w: FusedLayerWeights): (Tensor | null | undefined)[] {
  const lin = (p: LinearParams) => [p.weight, p.bias];
  const norm = (p: NormParams) => [p.weight, p.bias];
  const qkv = "weight" in w.qkv ? lin(w.qkv) : [...lin(w.qkv.q), ...lin(w.qkv.k), ...lin(w.qkv.v)];
  const cross = w.cross ? [...lin(w.cross.q), ...lin(w.cross.out), ...norm(w.cross.norm)] : [];
  return [
    ...qkv,
    ...lin(w.attnOut),
    ...norm(w.norm1),
    ...cross,
    ...lin(w.fc),
    ...lin(w.proj),
    ...norm(w.norm3),
  ];
}

/**
 * The three equal parts of a packed q/k/v buffer, kept per buffer so that a decode loop does not
 * make six views per layer and step (the native kernel sees them back to back and runs one product).
 */
const packedParts = new WeakMap<FloatArray, FloatArray[]>();
function thirds(a: FloatArray): FloatArray[] {
  let parts = packedParts.get(a);
  if (!parts) {
    const n = a.length / 3;
    parts = [a.subarray(0, n), a.subarray(n, 2 * n), a.subarray(2 * n)];
    packedParts.set(a, parts);
  }
  return parts;
}

/** A mask as a strided additive view over `full` = (B, H, T, S); bool masks become 0 / −∞. */
function maskView(name: string, m: Tensor, full: number[], dtype: Tensor["dtype"]): Strided<FloatArray> {
  const fits = m.ndim <= 4 && m.shape.every((n, i) => n === 1 || n === full[4 - m.ndim + i]);
  if (!fits)
    throw new Error(`${OP}: ${name} of shape ${shapeStr(m.shape)} cannot be broadcast to ${shapeStr(full)}`);
  let add = m;
  if (m.dtype === "bool") add = where(m, scalarFor(0, dtype), scalarFor(Number.NEGATIVE_INFINITY, dtype));
  else if (m.dtype !== dtype) throw new Error(`${OP}: ${name} must be bool or ${dtype}, got ${m.dtype}`);
  const view = broadcastView(add, full);
  return { data: view.data as FloatArray, offset: view.offset, strides: view.strides };
}

/**
 * The cross-attention's keys and values from the encoder's output, computed once per sequence
 * with ops: memory (B, Sm, C) → k, v (B, nHead, Sm, hs) contiguous, for opts.memory.
 * @example const mem = crossAttentionMemory(encoderOut, { weight: wk, bias: bk }, { weight: wv, bias: bv }, nHead);
 */
export function crossAttentionMemory(
  memory: Tensor,
  k: LinearParams,
  v: LinearParams,
  nHead: number,
): { k: Tensor; v: Tensor } {
  if (memory.ndim !== 3)
    throw new Error(`crossAttentionMemory: memory must be (B, Sm, C), got ${shapeStr(memory.shape)}`);
  const [B, Sm, C] = memory.shape;
  if (!(Number.isInteger(nHead) && nHead > 0 && C % nHead === 0))
    throw new Error(`crossAttentionMemory: nHead ${nHead} must divide the width C = ${C}`);
  const heads = (t: Tensor) => contiguous(transpose(reshape(t, [B, Sm, nHead, C / nHead]), 1, 2)); // (B, nh, Sm, hs)
  return {
    k: heads(linear(memory, k.weight, k.bias ?? null)),
    v: heads(linear(memory, v.weight, v.bias ?? null)),
  };
}
