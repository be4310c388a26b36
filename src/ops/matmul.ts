/** Matrix products: `matmul` with PyTorch's 1-D and broadcast-batch rules, and fused `linear`. */
import { needsGrad, record } from "../autograd/graph.js";
import type { FloatArray, UnaryOp } from "../backend/backend.js";
import { UNARY_OPS, unaryRow } from "../backend/op-table.js";
import { allocate, allocateUninit } from "../tensor/dtype.js";
import type { Tensor } from "../tensor/tensor.js";
import { broadcastShapes, isTransposedMatrix, shapeStr, sizeOf } from "../util/shape.js";
import { backend, denseFloat, requireFloat, wrap } from "./core.js";
import { sum, sumTo } from "./reduce.js";
import { contiguous, expand, reshape, squeeze, transpose, unsqueeze } from "./shape.js";

/**
 * A batch of matrices in a form the gemm kernel reads without copying when possible:
 * row-major or transposed (column-major) last two dims, with one uniform batch stride.
 */
interface MatOperand {
  data: FloatArray;
  offset: number;
  batchStride: number;
  trans: boolean;
}

function matOperand(t: Tensor, batchShape: readonly number[]): MatOperand {
  const nd = t.ndim;
  const [r, c] = [t.shape[nd - 2], t.shape[nd - 1]];
  const [sr, sc] = [t.strides[nd - 2], t.strides[nd - 1]];
  const batch = sizeOf(batchShape);
  const ownBatch = t.shape.slice(0, nd - 2);
  const rowMajor = (sc === 1 || c === 1) && (sr === c || r === 1);
  const colMajor = !rowMajor && (sr === 1 || r === 1) && (sc === r || c === 1);
  if (rowMajor || colMajor) {
    // One matrix broadcast over the whole batch: stride 0.
    if (sizeOf(ownBatch) === 1)
      return { data: t.data as FloatArray, offset: t.offset, batchStride: 0, trans: colMajor };
    // Batch dims equal to the output's and evenly strided (true for any contiguous batch).
    if (ownBatch.length === batchShape.length && ownBatch.every((d, i) => d === batchShape[i])) {
      let uniform = true;
      const step = t.strides[nd - 3];
      for (let i = nd - 3, expect = step; i >= 0; i--) {
        if (t.shape[i] !== 1 && t.strides[i] !== expect) uniform = false;
        expect *= t.shape[i];
      }
      if (uniform && (batch <= 1 || step === r * c))
        return { data: t.data as FloatArray, offset: t.offset, batchStride: r * c, trans: colMajor };
    }
  }
  // Otherwise materialise the broadcast batch as a contiguous buffer.
  const full = contiguous(expand(t, [...batchShape, r, c]));
  return { data: full.data as FloatArray, offset: full.offset, batchStride: r * c, trans: false };
}

/** Batched product of ≥2-D tensors with broadcast batch dims (no 1-D handling, no autograd). */
function bmm(a: Tensor, b: Tensor): Tensor {
  const M = a.shape[a.ndim - 2];
  const K = a.shape[a.ndim - 1];
  const N = b.shape[b.ndim - 1];
  if (b.shape[b.ndim - 2] !== K) {
    throw new Error(
      `matmul: shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)} cannot be multiplied (${K} vs ${b.shape[b.ndim - 2]})`,
    );
  }
  const batchShape = broadcastShapes("matmul", a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = sizeOf(batchShape);
  const A = matOperand(a, batchShape);
  const B = matOperand(b, batchShape);
  const dtype = a.dtype;
  // The product overwrites every element, unless K = 0 (then it is all zeros).
  const out = (K > 0 ? allocateUninit : allocate)(dtype, batch * M * N) as FloatArray;
  backend().gemm({
    batch,
    M,
    N,
    K,
    a: A.data,
    aOffset: A.offset,
    aBatchStride: A.batchStride,
    transA: A.trans,
    b: B.data,
    bOffset: B.offset,
    bBatchStride: B.batchStride,
    transB: B.trans,
    out,
    accumulate: false,
  });
  return wrap(out, [...batchShape, M, N]);
}

/**
 * Matrix product with torch.matmul's rules: 1-D operands are promoted and the added dim
 * removed again; leading dims broadcast as batch dims.
 * @example matmul(randn([2, 3, 4]), randn([4, 5])) // shape [2, 3, 5]
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  requireFloat("matmul", a);
  requireFloat("matmul", b);
  if (a.ndim === 0 || b.ndim === 0)
    throw new Error(
      `matmul: both arguments need at least 1 dim, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`,
    );
  if (a.dtype !== b.dtype)
    throw new Error(
      `matmul: dtypes differ (${a.dtype} and ${b.dtype}) for shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`,
    );
  // Shape checks on the caller's shapes (before 1-D operands are promoted), so errors name them.
  const ka = a.shape[a.ndim - 1];
  const kb = b.ndim === 1 ? b.shape[0] : b.shape[b.ndim - 2];
  if (ka !== kb) {
    throw new Error(
      `matmul: shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)} cannot be multiplied (${ka} vs ${kb})`,
    );
  }
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  try {
    broadcastShapes("matmul", aBatch, bBatch);
  } catch {
    throw new Error(
      `matmul: shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)} cannot be multiplied: batch dims ${shapeStr(aBatch)} and ${shapeStr(bBatch)} do not broadcast`,
    );
  }
  const a2 = a.ndim === 1 ? unsqueeze(a, 0) : a;
  const b2 = b.ndim === 1 ? unsqueeze(b, 1) : b;
  let out = matmul2(a2, b2);
  if (a.ndim === 1) out = squeeze(out, -2);
  if (b.ndim === 1) out = squeeze(out, -1);
  return out;
}

function matmul2(a: Tensor, b: Tensor): Tensor {
  const out = bmm(a, b);
  return record(out, "matmul", [a, b], (g) => [
    // dA = dC·Bᵀ and dB = Aᵀ·dC, summed over any batch dims the operand was broadcast along.
    a.requiresGrad ? sumTo(matmul2(g, transpose(b, -1, -2)), a.shape) : null,
    b.requiresGrad ? sumTo(matmul2(transpose(a, -1, -2), g), b.shape) : null,
  ]);
}

/**
 * dW = dYᵀ·X for y = x·Wᵀ, in W's own layout: row-major for a row-major W, and for a W that is the
 * transposed view of an (in, out) matrix (GPT-2's Conv1D weights, viewed where they were loaded)
 * computed as Xᵀ·dY and viewed the same way, so an optimizer updates the parameter's storage
 * with a gradient in the same order and never transposes either.
 */
function weightGrad(g2: Tensor, x2: Tensor, weight: Tensor): Tensor {
  if (isTransposedMatrix(weight.shape, weight.strides))
    return transpose(matmul2(transpose(x2, 0, 1), g2), 0, 1);
  return matmul2(transpose(g2, 0, 1), x2);
}

/** Options of {@link linear}. */
export interface LinearOptions {
  /**
   * Apply an activation in the matrix product's epilogue, while each output tile is still in cache:
   * `linear(x, w, b, { activation: "geluTanh" })` equals `gelu(linear(x, w, b), { approximate: "tanh" })`
   * bit for bit. Any unary op of the table (src/backend/op-table.ts) can be fused.
   */
  activation?: UnaryOp;
}

/**
 * y = x·Wᵀ + b, as torch.nn.functional.linear, with the bias (and optionally a GELU) fused into the gemm.
 * @example linear(x, weight, bias) // x (…, in), weight (out, in), bias (out)
 */
export function linear(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null = null,
  opts: LinearOptions = {},
): Tensor {
  const act = opts.activation;
  if (act !== undefined && !Object.hasOwn(unaryRow, act))
    throw new Error(
      `linear: activation must be a unary op (${UNARY_OPS.map((r) => r.name).join(", ")}), got ${String(act)}`,
    );
  requireFloat("linear", x);
  if (weight.ndim !== 2)
    throw new Error(`linear: weight must be 2-D (out, in), got ${shapeStr(weight.shape)}`);
  const [outF, inF] = weight.shape;
  if (x.ndim === 0 || x.shape[x.ndim - 1] !== inF) {
    throw new Error(
      `linear: input of shape ${shapeStr(x.shape)} does not match weight of shape ${shapeStr(weight.shape)} (expects last dim ${inF})`,
    );
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== outF)) {
    throw new Error(
      `linear: bias of shape ${shapeStr(bias.shape)} does not match weight of shape ${shapeStr(weight.shape)}`,
    );
  }
  if (x.dtype !== weight.dtype) throw new Error(`linear: input is ${x.dtype} but weight is ${weight.dtype}`);
  const lead = x.shape.slice(0, -1);
  const x2 = reshape(x, [sizeOf(lead), inF]);
  const X = matOperand(x2, []);
  const W = matOperand(weight, []);
  const N = sizeOf(lead);
  const out = (inF > 0 ? allocateUninit : allocate)(x.dtype, N * outF) as FloatArray;
  const bc = bias ? contiguous(bias) : null;
  const biasData = bc ? (bc.data as FloatArray).subarray(bc.offset, bc.offset + outF) : null;
  // The pre-activation is kept only when backward will need it.
  const preact =
    act && needsGrad(x2, weight, bias) ? (allocateUninit(x.dtype, N * outF) as FloatArray) : null;
  backend().gemm({
    batch: 1,
    M: N,
    N: outF,
    K: inF,
    a: X.data,
    aOffset: X.offset,
    aBatchStride: 0,
    transA: X.trans,
    // x·Wᵀ: W is (out, in) row-major, so read it transposed.
    b: W.data,
    bOffset: W.offset,
    bBatchStride: 0,
    transB: !W.trans,
    out,
    accumulate: false,
    bias: biasData,
    activation: act ?? null,
    preact,
  });
  const y = wrap(out, [...lead, outF]);
  return record(
    y,
    act ? `linear+${act}` : "linear",
    [x2, weight, bias],
    (g) => {
      let g2 = reshape(g, [N, outF]);
      if (act && preact) {
        // Through the activation first: dz = dy · f'(z).
        const gz = allocateUninit(x.dtype, N * outF) as FloatArray;
        backend().unaryBackward({ op: act, x: preact, y: out, gy: denseFloat("linear", g2), gx: gz });
        g2 = wrap(gz, [N, outF]);
      }
      return [
        x2.requiresGrad ? matmul2(g2, weight) : null,
        weight.requiresGrad ? weightGrad(g2, x2, weight) : null,
        bias?.requiresGrad ? sum(g2, 0) : null,
      ];
    },
    [preact],
  );
}
