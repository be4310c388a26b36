/**
 * Weight-only quantization for inference: a float weight matrix stored as int8 (symmetric, one
 * float32 scale per output row) or bfloat16 (float32's high half, rounded to nearest even), and
 * the products and lookups that read those forms directly. The kernel is the optional capability
 * `backend().fused.quantizedLinear` (src/backend/fused.ts); without it the composed path
 * (dequantize, then `linear`) is the fallback and the reference.
 */
import { isGradEnabled, withNoGrad } from "../autograd/graph.js";
import type { QuantizedMatrix } from "../backend/fused.js";
import { allocateUninit } from "../tensor/dtype.js";
import { allocateResident } from "../tensor/pool.js";
import type { Tensor } from "../tensor/tensor.js";
import { shapeStr } from "../util/shape.js";
import { backend, checkIndices, dense, requireDtype, wrap } from "./core.js";
import { linear } from "./matmul.js";
import { reshape } from "./shape.js";

/** The storage forms of {@link quantizeWeight}. */
export type QuantizedDType = "int8" | "bfloat16";

/**
 * A (rows, cols) weight matrix in a quantized storage form (see {@link quantizeWeight}). Not a
 * Tensor: it only feeds {@link quantizedLinear} and {@link quantizedEmbedding}, and
 * {@link dequantizeWeight} turns it back into a float32 tensor.
 * @example const q = quantizeWeight(lin.weight, "int8"); q.shape // [out, in]
 */
export interface QuantizedWeight {
  readonly dtype: QuantizedDType;
  /** (rows, cols): (out, in) for a Linear weight, (num, dim) for an embedding table. */
  readonly shape: readonly [number, number];
  /** The stored values, row-major (the form backends read). */
  readonly matrix: QuantizedMatrix;
  /** The array whose memory `matrix.data` views, kept alive with it (wasm heap storage). */
  readonly storage: Uint8Array;
}

/** `bytes` zeroed bytes of resident storage (in the wasm heap when that backend is loaded). */
function residentBytes(bytes: number): Uint8Array {
  return allocateResident("bool", bytes) as Uint8Array;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → bfloat16 bits, rounding to nearest, ties to even; NaN stays a (quiet) NaN. */
function toBF16(x: number): number {
  f32[0] = x;
  const b = u32[0];
  if ((b & 0x7f800000) === 0x7f800000 && (b & 0x007fffff) !== 0) return ((b >>> 16) | 0x0040) & 0xffff;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/**
 * Stores a 2-D float weight as int8 or bfloat16. int8: per row, scale = max|w| / 127 (float32) and
 * q = round(w / scale) ∈ [−127, 127], so |w − q·scale| ≤ scale / 2 (a zero row gets scale 0).
 * bfloat16: round to nearest even of float32, a relative error ≤ 2⁻⁸ for normal values.
 * @example const q = quantizeWeight(model.lm_head.weight, "int8");
 */
export function quantizeWeight(w: Tensor, dtype: QuantizedDType): QuantizedWeight {
  if (dtype !== "int8" && dtype !== "bfloat16")
    throw new Error(`quantizeWeight: dtype must be "int8" or "bfloat16", got ${JSON.stringify(dtype)}`);
  if (w.ndim !== 2) throw new Error(`quantizeWeight: weight must be 2-D, got ${shapeStr(w.shape)}`);
  if (w.dtype !== "float32" && w.dtype !== "float64")
    throw new Error(`quantizeWeight: weight must be float32 or float64, got ${w.dtype}`);
  const [R, C] = w.shape;
  const src = dense<Float32Array | Float64Array>(w);
  if (dtype === "bfloat16") {
    let storage = residentBytes(2 * R * C);
    if (storage.byteOffset % 2 !== 0) storage = new Uint8Array(2 * R * C);
    const data = new Uint16Array(storage.buffer, storage.byteOffset, R * C);
    for (let i = 0; i < data.length; i++) data[i] = toBF16(src[i]);
    return { dtype, shape: [R, C], matrix: { kind: "bfloat16", data }, storage };
  }
  const storage = residentBytes(R * C);
  const data = new Int8Array(storage.buffer, storage.byteOffset, R * C);
  const scales = allocateResident("float32", R) as Float32Array;
  for (let r = 0; r < R; r++) {
    const o = r * C;
    let max = 0;
    for (let k = 0; k < C; k++) {
      const v = src[o + k];
      const a = v < 0 ? -v : v;
      if (a > max) max = a;
      else if (a !== a) throw new Error(`quantizeWeight: row ${r} holds NaN; int8 cannot store it`);
    }
    if (!Number.isFinite(max))
      throw new Error(`quantizeWeight: row ${r} holds ±Infinity; int8 cannot store it`);
    const s = Math.fround(max / 127);
    scales[r] = s;
    if (s === 0) continue;
    for (let k = 0; k < C; k++) {
      const v = Math.round(src[o + k] / s); // |v| ≤ 127 but for the last bit of s's rounding
      data[o + k] = v > 127 ? 127 : v < -127 ? -127 : v;
    }
  }
  return { dtype, shape: [R, C], matrix: { kind: "int8", data, scales }, storage };
}

/** Rows [r0, r1) of q as float32 into out (from position 0). */
function dequantRows(q: QuantizedWeight, r0: number, r1: number, out: Float32Array, at = 0): void {
  const C = q.shape[1];
  const m = q.matrix;
  if (m.kind === "int8") {
    for (let r = r0; r < r1; r++) {
      const s = m.scales[r];
      const o = r * C;
      const d = at + (r - r0) * C;
      for (let k = 0; k < C; k++) out[d + k] = m.data[o + k] * s;
    }
  } else {
    const ou = new Uint32Array(out.buffer, out.byteOffset, out.length);
    for (let i = r0 * C, d = at; i < r1 * C; i++, d++) ou[d] = m.data[i] << 16;
  }
}

/**
 * The float32 tensor a quantized weight stands for (ŵ), e.g. to save or to compare.
 * @example const w = dequantizeWeight(quantizeWeight(lin.weight, "bfloat16"));
 */
export function dequantizeWeight(q: QuantizedWeight): Tensor {
  const [R, C] = q.shape;
  const out = new Float32Array(R * C);
  dequantRows(q, 0, R, out);
  return wrap(out, [R, C]);
}

/**
 * y = x · ŵᵀ + b for a quantized weight (out, in), float32 activations, reading the int8 or
 * bfloat16 storage directly on backends that declare `fused.quantizedLinear` (cpu, native and wasm
 * do); elsewhere it dequantizes and runs `linear`. Inference only: throws when gradient recording is
 * on and x or the bias requires grad.
 * @example const y = quantizedLinear(x, quantizeWeight(w, "int8"), b); // x (…, in) → (…, out)
 */
export function quantizedLinear(x: Tensor, w: QuantizedWeight, bias: Tensor | null = null): Tensor {
  const [N, K] = w.shape;
  if (x.dtype !== "float32")
    throw new Error(
      `quantizedLinear: input must be float32 (quantized weights run float32 activations), got ${x.dtype}`,
    );
  if (x.ndim === 0 || x.shape[x.ndim - 1] !== K)
    throw new Error(
      `quantizedLinear: input of shape ${shapeStr(x.shape)} does not match weight of shape ${shapeStr(w.shape)} (expects last dim ${K})`,
    );
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== N || bias.dtype !== "float32"))
    throw new Error(
      `quantizedLinear: bias must be a float32 (${N}) tensor, got ${bias.dtype} of shape ${shapeStr(bias.shape)}`,
    );
  if (isGradEnabled() && (x.requiresGrad || bias?.requiresGrad))
    throw new Error(
      "quantizedLinear: quantized layers are inference only and record no gradient, but the input requires grad; run under withNoGrad() or detach() it",
    );
  const lead = x.shape.slice(0, -1);
  const M = lead.reduce((a, b) => a * b, 1);
  const kernel = backend().fused?.quantizedLinear;
  if (!kernel) return withNoGrad(() => linear(x, dequantizeWeight(w), bias));
  const xd = dense<Float32Array>(reshape(x, [M, K]));
  const out = allocateUninit("float32", M * N) as Float32Array; // the kernel writes every element
  kernel.forward({
    M,
    N,
    K,
    x: xd,
    weight: w.matrix,
    bias: bias ? dense<Float32Array>(bias) : null,
    out,
  });
  return wrap(out, [...lead, N]);
}

/**
 * Looks up rows of a quantized (num, dim) table at int32 ids, dequantizing only those rows:
 * shape (...ids.shape, dim), float32. Lets a tied embedding share its head's quantized storage.
 * @example const x = quantizedEmbedding(ids, q); // q from quantizeWeight(wte.weight, "int8")
 */
export function quantizedEmbedding(ids: Tensor, w: QuantizedWeight): Tensor {
  requireDtype("quantizedEmbedding", ids, "int32", "ids");
  const [R, C] = w.shape;
  const idx = dense<Int32Array>(ids);
  checkIndices(
    "quantizedEmbedding",
    idx,
    R,
    "id",
    `weight of shape ${shapeStr(w.shape)}, ids of shape ${shapeStr(ids.shape)}`,
  );
  const out = new Float32Array(idx.length * C);
  for (let i = 0; i < idx.length; i++) dequantRows(w, idx[i], idx[i] + 1, out, i * C);
  return wrap(out, [...ids.shape, C]);
}
