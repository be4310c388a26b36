/**
 * Fused inference step of a pre-norm GPT block against a key/value cache: one backend call
 * instead of the ~15 ops (and tensors) of the composed block, which dominate the cost of
 * decoding one token at batch 1. Inference only: it records no gradient.
 */
import { needsGrad } from "../autograd/graph.js";
import type { FloatArray } from "../backend/backend.js";
import { allocateUninit } from "../tensor/dtype.js";
import type { Tensor } from "../tensor/tensor.js";
import { shapeStr } from "../util/shape.js";
import { backend, dense, requireFloat, wrap } from "./core.js";

/**
 * The parameters of one GPT block, Linear weights as (out, in); null for absent biases or
 * layer-norm affine terms.
 * @example const w: GPTBlockWeights = { ln1Weight: block.ln_1.weight, ln1Bias: null, … };
 */
export interface GPTBlockWeights {
  ln1Weight: Tensor | null;
  ln1Bias: Tensor | null;
  /** (3C, C): packed query, key, value projection. */
  attnWeight: Tensor;
  attnBias: Tensor | null;
  /** (C, C) */
  projWeight: Tensor;
  projBias: Tensor | null;
  ln2Weight: Tensor | null;
  ln2Bias: Tensor | null;
  /** (4C, C) */
  fcWeight: Tensor;
  fcBias: Tensor | null;
  /** (C, 4C) */
  mlpWeight: Tensor;
  mlpBias: Tensor | null;
}

/**
 * Options of {@link gptBlockDecode}.
 * @example gptBlockDecode(x, weights, k, v, past, { nHead: 12, eps: 1e-5 })
 */
export interface GPTBlockDecodeOptions {
  nHead: number;
  /** Layer-norm epsilon (default 1e-5). */
  eps?: number;
}

/**
 * x (B, T, C) → x + attn(ln_1(x)), then + mlp(ln_2(·)) with the tanh GELU, where the T new tokens
 * attend causally over the `past` positions already in the caches and themselves. The caches k, v
 * are contiguous (B, nh, cap, hs) buffers; the new keys and values are written into their rows
 * past … past + T − 1 (in place).
 * @example const y = gptBlockDecode(x, weights, kStore, vStore, cache.length, { nHead: 4 });
 */
export function gptBlockDecode(
  x: Tensor,
  w: GPTBlockWeights,
  k: Tensor,
  v: Tensor,
  past: number,
  opts: GPTBlockDecodeOptions,
): Tensor {
  const op = "gptBlockDecode";
  requireFloat(op, x);
  if (x.ndim !== 3) throw new Error(`${op}: x must be (B, T, C), got ${shapeStr(x.shape)}`);
  const [B, T, C] = x.shape;
  const H = opts.nHead;
  if (!(Number.isInteger(H) && H > 0 && C % H === 0))
    throw new Error(`${op}: nHead ${H} must divide the width C = ${C}`);
  const hs = C / H;
  if (k.ndim !== 4 || k.shape[0] !== B || k.shape[1] !== H || k.shape[3] !== hs || !v.hasShape(k.shape))
    throw new Error(
      `${op}: caches must both be (${B}, ${H}, cap, ${hs}) for x ${shapeStr(x.shape)}, got k ${shapeStr(k.shape)} and v ${shapeStr(v.shape)}`,
    );
  const cap = k.shape[2];
  if (!(Number.isInteger(past) && past >= 0 && past + T <= cap))
    throw new Error(`${op}: ${past} cached + ${T} new positions do not fit a cache of ${cap}`);
  if (!k.isContiguous() || !v.isContiguous()) throw new Error(`${op}: the caches must be contiguous`);
  const shapes: [keyof GPTBlockWeights, number[], boolean][] = [
    ["ln1Weight", [C], false],
    ["ln1Bias", [C], false],
    ["attnWeight", [3 * C, C], true],
    ["attnBias", [3 * C], false],
    ["projWeight", [C, C], true],
    ["projBias", [C], false],
    ["ln2Weight", [C], false],
    ["ln2Bias", [C], false],
    ["fcWeight", [4 * C, C], true],
    ["fcBias", [4 * C], false],
    ["mlpWeight", [C, 4 * C], true],
    ["mlpBias", [C], false],
  ];
  const buf = (t: Tensor | null): FloatArray | null => (t ? (dense(t) as FloatArray) : null);
  for (const [name, shape, required] of shapes) {
    const t = w[name];
    if (!t) {
      if (required) throw new Error(`${op}: ${name} is required`);
      continue;
    }
    if (!t.hasShape(shape) || t.dtype !== x.dtype)
      throw new Error(
        `${op}: ${name} must be ${x.dtype} ${shapeStr(shape)} for x ${shapeStr(x.shape)}, got ${t.dtype} ${shapeStr(t.shape)}`,
      );
  }
  if (k.dtype !== x.dtype || v.dtype !== x.dtype)
    throw new Error(`${op}: caches must be ${x.dtype} like x, got ${k.dtype} and ${v.dtype}`);
  if (needsGrad(x, ...shapes.map(([name]) => w[name])))
    throw new Error(`${op}: inference only (no gradient); call it under withNoGrad()`);
  const out = allocateUninit(x.dtype, B * T * C) as FloatArray; // the kernel writes every element
  backend().decodeBlockForward(
    {
      B,
      T,
      C,
      H,
      past,
      cap,
      eps: opts.eps ?? 1e-5,
      x: dense(x) as FloatArray,
      ln1W: buf(w.ln1Weight),
      ln1B: buf(w.ln1Bias),
      attnW: dense(w.attnWeight) as FloatArray,
      attnB: buf(w.attnBias),
      projW: dense(w.projWeight) as FloatArray,
      projB: buf(w.projBias),
      ln2W: buf(w.ln2Weight),
      ln2B: buf(w.ln2Bias),
      fcW: dense(w.fcWeight) as FloatArray,
      fcB: buf(w.fcBias),
      mlpW: dense(w.mlpWeight) as FloatArray,
      mlpB: buf(w.mlpBias),
      k: dense(k) as FloatArray,
      v: dense(v) as FloatArray,
    },
    out,
  );
  return wrap(out, [B, T, C]);
}
