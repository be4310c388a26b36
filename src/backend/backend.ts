/**
 * The typed kernel contract. Every numeric loop in qkv runs behind this interface, so a fast
 * backend (native SIMD, WebAssembly) slots in without touching ops or autograd.
 *
 * Conventions: buffers are flat typed arrays; unless a kernel takes strides, its inputs are
 * contiguous row-major. Kernels write into `out` buffers the caller allocated, never allocate
 * their own results, and never keep references to their arguments after returning.
 */

import type { AnyArray, FloatArray } from "../tensor/dtype.js";
import type { FusedKernels } from "./fused.js";

export type { AnyArray, DType, FloatArray } from "../tensor/dtype.js";

// The op-name unions derive from the op tables (src/backend/op-table.ts), the single source of truth.
// They are restated here, not re-exported, so they carry doc comments without editing op-table.ts,
// whose bytes are part of the wasm build's source hash. @useDeclaredType shows the resolved names.
import type { BINARY_OPS, COMPARE_OPS, REDUCE_OPS, UNARY_OPS } from "./op-table.js";

/**
 * Names of the elementwise unary ops (exp, relu, gelu, ...), one per row of the unary table.
 * @useDeclaredType
 */
export type UnaryOp = (typeof UNARY_OPS)[number]["name"];
/**
 * Names of the broadcast arithmetic ops (add, sub, mul, div, pow, maximum, minimum).
 * @useDeclaredType
 */
export type BinaryOp = (typeof BINARY_OPS)[number]["name"];
/**
 * Names of the broadcast comparisons (eq, ne, lt, le, gt, ge).
 * @useDeclaredType
 */
export type CompareOp = (typeof COMPARE_OPS)[number]["name"];
/**
 * Names of the reductions a backend's `reduce` kernel computes (sum, max, min, prod).
 * @useDeclaredType
 */
export type ReduceOp = (typeof REDUCE_OPS)[number]["name"];
/** The index reductions `argReduce` computes. */
export type ArgReduceOp = "argmax" | "argmin";

/** Describes one strided operand: element (i0..in) lives at `offset + Σ ik * strides[k]`. */
export interface Strided<A extends AnyArray = AnyArray> {
  data: A;
  offset: number;
  strides: readonly number[];
}

/** Arguments of a (batched) matrix product `out[b] = op(A[b]) · op(B[b])`, all row-major. */
export interface GemmArgs<A extends FloatArray = FloatArray> {
  /** Number of matrices in the batch. */
  batch: number;
  M: number;
  N: number;
  K: number;
  /** A holds `batch` matrices of M×K (or K×M when transA), starting at aOffset + b·aBatchStride. */
  a: A;
  aOffset: number;
  /** Elements between consecutive A matrices; 0 broadcasts one matrix over the batch. */
  aBatchStride: number;
  transA: boolean;
  b: A;
  bOffset: number;
  bBatchStride: number;
  transB: boolean;
  /** out holds `batch` contiguous M×N matrices. */
  out: A;
  /** When true, add into `out` instead of overwriting it (used to accumulate gradients). */
  accumulate: boolean;
  /** Optional bias of length N added to every row (fused epilogue of a linear layer). */
  bias?: A | null;
  /**
   * Optional activation applied to each finished element after the bias (a fused epilogue: the tile
   * is still in cache): out = f(z), for any unary op, bit-identical to `unary`. Not combined with `accumulate`.
   */
  activation?: UnaryOp | null;
  /** With `activation`, receives the pre-activation z (batch·M·N elements), which backward needs. */
  preact?: A | null;
}

/**
 * Where the rows of one attention operand lie: row t of head (b, h) starts at
 * `offset + b·batch + h·head + t·row`, and its D elements are contiguous.
 */
export interface HeadLayout {
  offset: number;
  batch: number;
  head: number;
  row: number;
}

/**
 * Layouts of q, k, v and out; the gradients gq, gk, gv, gOut share those of q, k, v, out. A packed
 * (B, T, 3C) projection is q = {0, T·3C, D, 3C}, k = {C, …}, v = {2C, …} with out (B, T, C).
 */
export interface AttentionLayout {
  q: HeadLayout;
  k: HeadLayout;
  v: HeadLayout;
  out: HeadLayout;
}

/** The layout of contiguous (B, H, T, D) operands, the default of {@link AttentionArgs.layout}. */
export function contiguousAttentionLayout(
  args: Pick<AttentionArgs, "H" | "T" | "S" | "D" | "Dv">,
): AttentionLayout {
  const { H, T, S, D, Dv } = args;
  const head = (rows: number, cols: number): HeadLayout => ({
    offset: 0,
    batch: H * rows * cols,
    head: rows * cols,
    row: cols,
  });
  return { q: head(T, D), k: head(S, D), v: head(S, Dv), out: head(T, Dv) };
}

/** Arguments of fused scaled dot-product attention, on contiguous (B, H, T, D) tensors unless `layout` says otherwise. */
export interface AttentionArgs<A extends FloatArray = FloatArray> {
  B: number;
  H: number;
  /** Query length. */
  T: number;
  /** Key/value length. */
  S: number;
  /** Head size of q and k. */
  D: number;
  /** Head size of v. */
  Dv: number;
  q: A; // (B, H, T, D)
  k: A; // (B, H, S, D)
  v: A; // (B, H, S, Dv)
  scale: number;
  /** Mask row i to keys j ≤ i + (S − T) (bottom-right aligned, as a KV cache needs). */
  isCausal: boolean;
  /** Optional additive mask, broadcast over (B, H, T, S) through strides (0 = broadcast). */
  mask: Strided<A> | null;
  /**
   * Strided operands (e.g. heads read from a packed q/k/v projection); null or absent = contiguous.
   * The backward pass then overwrites exactly the elements of gq, gk, gv these layouts cover.
   */
  layout?: AttentionLayout | null;
}

// ---- kernel arguments: every kernel takes one object (named fields, no positional lists) ------

/** copy: dst[view] = src[view] over `shape`, both sides strided; converts between dtypes. */
export interface CopyArgs {
  shape: readonly number[];
  src: Strided;
  dst: Strided;
}
/** fill: every element of `out` set to `value`. */
export interface FillArgs {
  out: AnyArray;
  value: number;
}
/** out[i] = f(x[i]) on contiguous buffers of equal length. */
export interface UnaryArgs<A extends FloatArray = FloatArray> {
  op: UnaryOp;
  x: A;
  out: A;
}
/** gx[i] = gy[i] · f'(x[i]); y = f(x) is passed so rules like tanh' = 1 − y² can use it. */
export interface UnaryBackwardArgs<A extends FloatArray = FloatArray> {
  op: UnaryOp;
  x: A;
  y: A;
  gy: A;
  gx: A;
}
/** out = a ∘ b broadcast over `shape` (contiguous out); strides of 0 broadcast an operand. */
export interface BinaryArgs {
  op: BinaryOp;
  shape: readonly number[];
  a: Strided;
  b: Strided;
  out: AnyArray;
}
/** out = (a ⋄ b) as 0/1 bytes, broadcast like `binary`. */
export interface CompareArgs {
  op: CompareOp;
  shape: readonly number[];
  a: Strided;
  b: Strided;
  out: Uint8Array;
}
/** out = cond ? a : b, all three broadcast over `shape`. */
export interface WhereArgs {
  shape: readonly number[];
  cond: Strided<Uint8Array>;
  a: Strided;
  b: Strided;
  out: AnyArray;
}
/** out[i] = min(max(x[i], lo), hi). */
export interface ClampArgs {
  x: AnyArray;
  lo: number;
  hi: number;
  out: AnyArray;
}
/** A reduction over the middle axis of a contiguous (outer, n, inner) buffer into (outer, inner). */
export interface ReduceArgs {
  op: ReduceOp;
  x: AnyArray;
  outer: number;
  n: number;
  inner: number;
  out: AnyArray;
}
/** The index of the max (or min) along the middle axis of a contiguous (outer, n, inner) buffer. */
export interface ArgReduceArgs {
  op: ArgReduceOp;
  x: AnyArray;
  outer: number;
  n: number;
  inner: number;
  out: Int32Array;
}
/** A row kernel's forward over a contiguous (rows, n) buffer. */
export interface RowsArgs {
  x: FloatArray;
  rows: number;
  n: number;
  out: FloatArray;
}
/** A row kernel's backward from its output y and the gradient gy. */
export interface RowsBackwardArgs {
  y: FloatArray;
  gy: FloatArray;
  rows: number;
  n: number;
  gx: FloatArray;
}
/** Layer normalisation of each row of a contiguous (rows, n) buffer, with optional affine weight and bias. */
export interface LayerNormArgs {
  x: FloatArray; // (rows, n)
  weight: FloatArray | null; // (n)
  bias: FloatArray | null; // (n)
  rows: number;
  n: number;
  eps: number;
  out: FloatArray; // (rows, n)
  /** Per-row mean and 1/std, saved for the backward pass. */
  mean: FloatArray; // (rows)
  rstd: FloatArray; // (rows)
}
/** Layer norm's backward from the saved per-row mean and 1/std: gx, and gw / gb when given. */
export interface LayerNormBackwardArgs {
  x: FloatArray;
  weight: FloatArray | null;
  mean: FloatArray;
  rstd: FloatArray;
  gy: FloatArray;
  rows: number;
  n: number;
  gx: FloatArray;
  /** Accumulated into when given. */
  gw: FloatArray | null;
  gb: FloatArray | null;
}
/** Cross-entropy of logits (rows, C) against class indices (rows); ignored rows give 0. */
export interface CrossEntropyArgs {
  logits: FloatArray;
  target: Int32Array;
  rows: number;
  C: number;
  ignoreIndex: number;
  /** ε: the target distribution is (1−ε)·onehot + ε/C. */
  labelSmoothing: number;
  loss: FloatArray; // (rows)
  lse: FloatArray; // (rows) log-sum-exp, for the backward pass
}
/** Cross-entropy's backward: gLogits from the saved log-sum-exp and the per-row loss gradient. */
export interface CrossEntropyBackwardArgs {
  logits: FloatArray;
  target: Int32Array;
  lse: FloatArray;
  gLoss: FloatArray;
  rows: number;
  C: number;
  ignoreIndex: number;
  labelSmoothing: number;
  gLogits: FloatArray;
}
/** Indexing along the middle axis of a contiguous (outer, n, inner) source, by index (m). */
export interface IndexSelectArgs {
  x: AnyArray;
  outer: number;
  n: number;
  inner: number;
  /** Validated in [0, n) by the caller. */
  index: Int32Array;
  out: AnyArray; // (outer, m, inner)
}
/** The backward of indexSelect: gy's slices (outer, m, inner) added into gx at rows `index`. */
export interface IndexAddArgs {
  gy: FloatArray; // (outer, m, inner)
  outer: number;
  n: number;
  inner: number;
  index: Int32Array;
  gx: FloatArray; // (outer, n, inner), not cleared first
}
/** torch.gather along the middle axis, with a contiguous index of the output's shape (outer, m, inner). */
export interface GatherArgs {
  x: AnyArray;
  outer: number;
  n: number;
  inner: number;
  index: Int32Array;
  m: number;
  out: AnyArray;
}
/** The backward of gather: gy (outer, m, inner) added into gx at the positions `index` names. */
export interface ScatterAddArgs {
  gy: FloatArray;
  outer: number;
  n: number;
  inner: number;
  index: Int32Array;
  m: number;
  gx: FloatArray;
}
/** Attention forward: the inputs plus the output and the per-row log-sum-exp it writes. */
export interface AttentionForwardArgs<A extends FloatArray = FloatArray> extends AttentionArgs<A> {
  out: A; // (B, H, T, Dv) under layout.out
  lse: A; // (B, H, T)
}
/** Attention backward: the forward's arguments plus gOut, and the gq, gk, gv it overwrites. */
export interface AttentionBackwardArgs<A extends FloatArray = FloatArray> extends AttentionForwardArgs<A> {
  gOut: A;
  /** Overwritten (the elements the layouts cover). */
  gq: A;
  gk: A;
  gv: A;
}
/**
 * One Adam/AdamW update in place over many parameters (the same options and step for all):
 * params[i] from grads[i], expAvgs[i], expAvgSqs[i] (and maxExpAvgSqs[i], which enables AMSGrad).
 */
export interface AdamStepArgs extends AdamStepOptions {
  params: readonly FloatArray[];
  grads: readonly FloatArray[];
  expAvgs: readonly FloatArray[];
  expAvgSqs: readonly FloatArray[];
  maxExpAvgSqs: readonly FloatArray[] | null;
}
/** Per-tensor sums of squares over a list of buffers (for gradient-norm clipping). */
export interface SumOfSquaresArgs {
  xs: readonly FloatArray[];
  /** out[i] = Σⱼ xs[i][j]², accumulated in float64. */
  out: Float64Array;
}
/** Multiplies every element of every buffer in `xs` by `scale`, in place. */
export interface ScaleInPlaceArgs {
  xs: readonly FloatArray[];
  scale: number;
}

/**
 * The kernel contract every backend implements (cpu, native, wasm; or your own, through
 * `registerBackend`). Each kernel takes one argument object and writes into buffers the caller
 * allocated; ops and autograd reach the numbers only through it.
 */
export interface Backend {
  /** The name the backend is registered and selected under ("cpu", "native", "wasm"). */
  readonly name: string;
  /** Optional model-shaped kernels this backend declares (none is owed; see ./fused.ts). */
  readonly fused?: FusedKernels;

  // ---- memory ----------------------------------------------------------------------------
  /** Strided copy between two views, converting dtypes on the way. */
  copy(args: CopyArgs): void;
  /** Sets every element of a buffer to one value. */
  fill(args: FillArgs): void;

  // ---- elementwise -----------------------------------------------------------------------
  /** Applies one op of the unary table elementwise. */
  unary(args: UnaryArgs): void;
  /** The gradient of a unary op: gx = gy · f'(x). */
  unaryBackward(args: UnaryBackwardArgs): void;
  /** A broadcast arithmetic op (add, sub, mul, div, pow, maximum, minimum). */
  binary(args: BinaryArgs): void;
  /** A broadcast comparison (eq, ne, lt, le, gt, ge) into a bool buffer. */
  compare(args: CompareArgs): void;
  /** Broadcast selection `cond ? a : b`, as torch.where. */
  where(args: WhereArgs): void;
  /** Clamps every element into [lo, hi]. */
  clamp(args: ClampArgs): void;

  // ---- reductions over the middle axis of a contiguous (outer, n, inner) buffer ------------
  /** sum, max, min or prod over the middle axis. */
  reduce(args: ReduceArgs): void;
  /** argmax or argmin over the middle axis, into int32 indices. */
  argReduce(args: ArgReduceArgs): void;

  // ---- linear algebra ----------------------------------------------------------------------
  /** Batched matrix product with optional transposes, bias and activation epilogue. */
  gemm(args: GemmArgs): void;

  // ---- fused neural-network kernels on rows of a contiguous (rows, n) buffer ---------------
  /** Softmax of each row. */
  softmaxForward(args: RowsArgs): void;
  /** gx = y ⊙ (gy − Σ gy⊙y). */
  softmaxBackward(args: RowsBackwardArgs): void;
  /** Log-softmax of each row. */
  logSoftmaxForward(args: RowsArgs): void;
  /** gx = gy − softmax ⊙ Σ gy, with softmax = exp(y). */
  logSoftmaxBackward(args: RowsBackwardArgs): void;
  /** Normalises each row; saves mean and 1/std per row for the backward pass. */
  layerNormForward(args: LayerNormArgs): void;
  /** Writes gx, and accumulates into gw / gb when given. */
  layerNormBackward(args: LayerNormBackwardArgs): void;
  /** Per-row loss and log-sum-exp (see CrossEntropyArgs). */
  crossEntropyForward(args: CrossEntropyArgs): void;
  /** gLogits[r] = gLoss[r] · (softmax(logits[r]) − targetDistribution[r]); ignored rows get 0. */
  crossEntropyBackward(args: CrossEntropyBackwardArgs): void;

  // ---- indexing on a contiguous (outer, n, inner) source --------------------------------------
  /** out (outer, m, inner) = x[:, index[j], :]. */
  indexSelect(args: IndexSelectArgs): void;
  /** gx[:, index[j], :] += gy[:, j, :] (scatter-add). */
  indexAdd(args: IndexAddArgs): void;
  /** out[o, j, i] = x[o, index[o, j, i], i]. */
  gather(args: GatherArgs): void;
  /** gx[o, index[o, j, i], i] += gy[o, j, i]. */
  scatterAdd(args: ScatterAddArgs): void;

  // ---- attention ----------------------------------------------------------------------------
  /** out (B,H,T,Dv) = softmax(q·kᵀ·scale + mask) · v (layouts per args.layout); writes the row log-sum-exp (B,H,T). */
  attentionForward(args: AttentionForwardArgs): void;
  /** Gradients of attentionForward, recomputing the probabilities from `lse`; overwrites gq, gk, gv. */
  attentionBackward(args: AttentionBackwardArgs): void;

  // ---- optimizers ---------------------------------------------------------------------------
  /**
   * One Adam/AdamW update in place, in PyTorch's formulation; `decoupled` selects AdamW's
   * p ← p·(1 − lr·wd), otherwise wd·p is added to the gradient.
   */
  adamStepMulti(args: AdamStepArgs): void;
  /** Per-tensor sums of squares in float64 (in a fixed order, whatever the thread count). */
  sumOfSquares(args: SumOfSquaresArgs): void;
  /** xs[i][j] ← xs[i][j]·scale in place, the product formed in float64 and rounded once. */
  scaleInPlace(args: ScaleInPlaceArgs): void;
}

/** Options of one Adam/AdamW step (see {@link Backend.adamStepMulti}). */
export interface AdamStepOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  step: number;
  decoupled: boolean;
}
