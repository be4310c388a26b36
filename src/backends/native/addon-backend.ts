/**
 * The kernel glue shared by the backends built from native/addon.cc's entry points: the Node-API
 * addon (native) and the WebAssembly module that compiles the same file against a Node-API shim
 * (wasm). Each op checks its size against the backend's thresholds, writes its numeric arguments
 * into `meta` (layout: meta-layout.ts) and calls the entry point, or delegates to the reference
 * backend, explicitly, when the problem is too small or the entry point declines it.
 */
import type {
  AdamStepArgs,
  AdamStepOptions,
  AttentionArgs,
  AttentionBackwardArgs,
  AttentionForwardArgs,
  Backend,
  BinaryArgs,
  ClampArgs,
  CompareArgs,
  CopyArgs,
  CrossEntropyArgs,
  CrossEntropyBackwardArgs,
  FloatArray,
  GatherArgs,
  GemmArgs,
  IndexAddArgs,
  IndexSelectArgs,
  LayerNormArgs,
  LayerNormBackwardArgs,
  ReduceArgs,
  RowsArgs,
  RowsBackwardArgs,
  ScaleInPlaceArgs,
  ScatterAddArgs,
  Strided,
  SumOfSquaresArgs,
  UnaryArgs,
  UnaryBackwardArgs,
  UnaryOp,
  WhereArgs,
} from "../../backend/backend.js";
import type {
  FusedQuantizedLinear,
  FusedTransformerLayer,
  QuantizedLinearArgs,
  TransformerLayerArgs,
} from "../../backend/fused.js";
import { opCodes, unaryRow } from "../../backend/op-table.js";
import { cpuBackend } from "../cpu/index.js";
import { quantizedLinear as cpuQuantizedLinear } from "../cpu/quantized.js";
import type { NativeAddon } from "./binding.js";
import { ML } from "./meta-layout.js";

// Operation codes: row positions in the op tables, which also generate the addon's enums (the loader
// refuses an addon whose compiled-in op lists differ, see binding.ts).
const UNARY = opCodes("unary");
const BINARY = opCodes("binary");
const COMPARE = opCodes("compare");
const REDUCE = opCodes("reduce");

/** Problem sizes below which a backend made by {@link createAddonBackend} delegates to cpu. */
export interface AddonThresholds {
  gemm: number;
  elementwise: number;
  transcendental: number;
  copy: number;
  rows: number;
  reduce: number;
  indexing: number;
  optimizer: number;
  attention: number;
}

export interface AddonBackendOptions {
  /** The backend's name ("native", "wasm"). */
  name: string;
  /** The entry points; called on first use, so loading stays lazy. */
  addon: () => NativeAddon;
  /** The buffer the entry points read their numeric arguments from. */
  meta: Float64Array;
  /** Read on every call (tests set them to 0 to force the kernels). */
  thresholds: AddonThresholds;
}

/** A `Backend` over addon.cc's entry points (native or wasm). */
export function createAddonBackend(opts: AddonBackendOptions) {
  const { name, meta, addon } = opts;
  const nativeThresholds = opts.thresholds;

  function numel(shape: readonly number[]): number {
    let n = 1;
    for (let i = 0; i < shape.length; i++) n *= shape[i];
    return n;
  }

  /** Writes `nd, shape…, (offset, strides…) per operand` into meta from position p. */
  function putNd(p: number, shape: readonly number[], ops: readonly Strided[]): boolean {
    const nd = shape.length;
    if (p + 1 + nd + ops.length * (nd + 1) > meta.length || nd > 32) return false;
    meta[p++] = nd;
    for (let d = 0; d < nd; d++) meta[p++] = shape[d];
    for (const op of ops) {
      meta[p++] = op.offset;
      for (let d = 0; d < nd; d++) meta[p++] = op.strides[d];
    }
    return true;
  }

  // ---- memory ------------------------------------------------------------------------------------

  function copy(args: CopyArgs): void {
    const { shape, src, dst } = args;
    if (
      numel(shape) < nativeThresholds.elementwise ||
      !putNd(ML.strided.nd, shape, [src, dst]) ||
      !addon().copy(src.data, dst.data)
    ) {
      cpuBackend.copy(args);
    }
  }

  // ---- element-wise ------------------------------------------------------------------------------

  function unaryMin(op: UnaryOp): number {
    return unaryRow[op].cheap ? nativeThresholds.elementwise : nativeThresholds.transcendental;
  }

  function unary(args: UnaryArgs): void {
    const { op, x, out } = args;
    if (x.length >= unaryMin(op)) {
      meta[ML.unary.op] = UNARY[op];
      if (addon().unary(x, out)) return;
    }
    cpuBackend.unary(args);
  }

  function unaryBackward(args: UnaryBackwardArgs): void {
    const { op, x, y, gy, gx } = args;
    if (x.length >= unaryMin(op)) {
      meta[ML.unary.op] = UNARY[op];
      if (addon().unaryBackward(x, y, gy, gx)) return;
    }
    cpuBackend.unaryBackward(args);
  }

  function binary(args: BinaryArgs): void {
    const { op, shape, a, b, out } = args;
    if (
      numel(shape) >= nativeThresholds.elementwise &&
      (out instanceof Float32Array || out instanceof Float64Array)
    ) {
      meta[ML.binary.op] = BINARY[op];
      if (putNd(ML.binary.nd, shape, [a, b]) && addon().binary(a.data, b.data, out)) return;
    }
    cpuBackend.binary(args);
  }

  function compare(args: CompareArgs): void {
    const { op, shape, a, b, out } = args;
    if (numel(shape) >= nativeThresholds.elementwise) {
      meta[ML.compare.op] = COMPARE[op];
      if (putNd(ML.compare.nd, shape, [a, b]) && addon().compare(a.data, b.data, out)) return;
    }
    cpuBackend.compare(args);
  }

  function where(args: WhereArgs): void {
    const { shape, cond, a, b, out } = args;
    if (numel(shape) >= nativeThresholds.elementwise && putNd(ML.strided.nd, shape, [cond, a, b])) {
      if (addon().where(cond.data, a.data, b.data, out)) return;
    }
    cpuBackend.where(args);
  }

  function clamp(args: ClampArgs): void {
    const { x, lo, hi, out } = args;
    if (x.length >= nativeThresholds.elementwise) {
      meta[ML.clamp.lo] = lo;
      meta[ML.clamp.hi] = hi;
      if (addon().clamp(x, out)) return;
    }
    cpuBackend.clamp(args);
  }

  // ---- reductions ----------------------------------------------------------------------------------

  function reduce(args: ReduceArgs): void {
    const { op, x, outer, n, inner, out } = args;
    if (outer * n * inner >= nativeThresholds.reduce) {
      meta[ML.reduce.op] = REDUCE[op];
      meta[ML.reduce.outer] = outer;
      meta[ML.reduce.n] = n;
      meta[ML.reduce.inner] = inner;
      if (addon().reduce(x, out)) return;
    }
    cpuBackend.reduce(args);
  }

  // ---- linear algebra ------------------------------------------------------------------------------

  function gemm(args: GemmArgs): void {
    const { batch, M, N, K } = args;
    if (batch * M * N * K < nativeThresholds.gemm) {
      cpuBackend.gemm(args);
      return;
    }
    meta[ML.gemm.batch] = batch;
    meta[ML.gemm.M] = M;
    meta[ML.gemm.N] = N;
    meta[ML.gemm.K] = K;
    meta[ML.gemm.aOffset] = args.aOffset;
    meta[ML.gemm.aBatchStride] = args.aBatchStride;
    meta[ML.gemm.transA] = args.transA ? 1 : 0;
    meta[ML.gemm.bOffset] = args.bOffset;
    meta[ML.gemm.bBatchStride] = args.bBatchStride;
    meta[ML.gemm.transB] = args.transB ? 1 : 0;
    meta[ML.gemm.accumulate] = args.accumulate ? 1 : 0;
    const bias = args.bias;
    meta[ML.gemm.hasBias] = bias ? 1 : 0;
    const act = args.activation;
    if (act) {
      if (args.accumulate) throw new Error("gemm: an activation epilogue cannot accumulate");
      meta[ML.gemm.activation] = UNARY[act];
      meta[ML.gemm.hasPreact] = args.preact ? 1 : 0;
      addon().gemm(args.a, args.b, args.out, bias ?? args.out, args.preact ?? args.out);
      return;
    }
    meta[ML.gemm.activation] = -1;
    meta[ML.gemm.hasPreact] = 0;
    if (bias) addon().gemm(args.a, args.b, args.out, bias);
    else addon().gemm(args.a, args.b, args.out);
  }

  // ---- fused row kernels ---------------------------------------------------------------------------

  /** Sets the row shape for the addon's softmax kernels; `log` selects log-softmax. */
  function rowsFit(rows: number, n: number, log: boolean): boolean {
    if (rows * n < nativeThresholds.rows) return false;
    meta[ML.softmax.rows] = rows;
    meta[ML.softmax.n] = n;
    meta[ML.softmax.log] = log ? 1 : 0;
    return true;
  }

  function softmaxForward(args: RowsArgs): void {
    const { x, rows, n, out } = args;
    if (rowsFit(rows, n, false) && addon().softmax(x, out)) return;
    cpuBackend.softmaxForward(args);
  }

  function softmaxBackward(args: RowsBackwardArgs): void {
    const { y, gy, rows, n, gx } = args;
    if (rowsFit(rows, n, false) && addon().softmaxBackward(y, gy, gx)) return;
    cpuBackend.softmaxBackward(args);
  }

  function logSoftmaxForward(args: RowsArgs): void {
    const { x, rows, n, out } = args;
    if (rowsFit(rows, n, true) && addon().softmax(x, out)) return;
    cpuBackend.logSoftmaxForward(args);
  }

  function logSoftmaxBackward(args: RowsBackwardArgs): void {
    const { y, gy, rows, n, gx } = args;
    if (rowsFit(rows, n, true) && addon().softmaxBackward(y, gy, gx)) return;
    cpuBackend.logSoftmaxBackward(args);
  }

  function layerNormForward(args: LayerNormArgs): void {
    const { x, weight, bias, rows, n, eps, out, mean, rstd } = args;
    if (rows * n >= nativeThresholds.rows) {
      meta[ML.layerNormForward.rows] = rows;
      meta[ML.layerNormForward.n] = n;
      meta[ML.layerNormForward.eps] = eps;
      meta[ML.layerNormForward.hasW] = weight ? 1 : 0;
      meta[ML.layerNormForward.hasB] = bias ? 1 : 0;
      if (addon().layerNormForward(x, out, mean, rstd, weight ?? undefined, bias ?? undefined)) return;
    }
    cpuBackend.layerNormForward(args);
  }

  function layerNormBackward(args: LayerNormBackwardArgs): void {
    const { x, weight, mean, rstd, gy, rows, n, gx, gw, gb } = args;
    if (rows * n >= nativeThresholds.rows) {
      meta[ML.layerNormBackward.rows] = rows;
      meta[ML.layerNormBackward.n] = n;
      meta[ML.layerNormBackward.hasW] = weight ? 1 : 0;
      meta[ML.layerNormBackward.hasGW] = gw ? 1 : 0;
      meta[ML.layerNormBackward.hasGB] = gb ? 1 : 0;
      if (
        addon().layerNormBackward(
          x,
          mean,
          rstd,
          gy,
          gx,
          weight ?? undefined,
          gw ?? undefined,
          gb ?? undefined,
        )
      )
        return;
    }
    cpuBackend.layerNormBackward(args);
  }

  function crossEntropyForward(args: CrossEntropyArgs): void {
    const { logits, target, rows, C, ignoreIndex, labelSmoothing, loss, lse } = args;
    if (rows * C >= nativeThresholds.rows) {
      meta[ML.crossEntropy.rows] = rows;
      meta[ML.crossEntropy.C] = C;
      meta[ML.crossEntropy.ignoreIndex] = ignoreIndex;
      meta[ML.crossEntropy.smoothing] = labelSmoothing;
      if (addon().crossEntropyForward(logits, target, loss, lse)) return;
    }
    cpuBackend.crossEntropyForward(args);
  }

  function crossEntropyBackward(args: CrossEntropyBackwardArgs): void {
    const { logits, target, lse, gLoss, rows, C, ignoreIndex, labelSmoothing, gLogits } = args;
    if (rows * C >= nativeThresholds.rows) {
      meta[ML.crossEntropy.rows] = rows;
      meta[ML.crossEntropy.C] = C;
      meta[ML.crossEntropy.ignoreIndex] = ignoreIndex;
      meta[ML.crossEntropy.smoothing] = labelSmoothing;
      if (addon().crossEntropyBackward(logits, target, lse, gLoss, gLogits)) return;
    }
    cpuBackend.crossEntropyBackward(args);
  }

  // ---- indexing ----------------------------------------------------------------------------------------

  function indexSelect(args: IndexSelectArgs): void {
    const { x, outer, n, inner, index, out } = args;
    if (outer * index.length * inner >= nativeThresholds.indexing) {
      meta[ML.indexing.outer] = outer;
      meta[ML.indexing.n] = n;
      meta[ML.indexing.inner] = inner;
      if (addon().indexSelect(x, index, out)) return;
    }
    cpuBackend.indexSelect(args);
  }

  function indexAdd(args: IndexAddArgs): void {
    const { gy, outer, n, inner, index, gx } = args;
    if (outer * index.length * inner >= nativeThresholds.indexing) {
      meta[ML.indexing.outer] = outer;
      meta[ML.indexing.n] = n;
      meta[ML.indexing.inner] = inner;
      if (addon().indexAdd(gy, index, gx)) return;
    }
    cpuBackend.indexAdd(args);
  }

  function gather(args: GatherArgs): void {
    const { x, outer, n, inner, index, m, out } = args;
    if (outer * m * inner >= nativeThresholds.indexing) {
      meta[ML.indexing.outer] = outer;
      meta[ML.indexing.n] = n;
      meta[ML.indexing.inner] = inner;
      meta[ML.indexing.m] = m;
      if (addon().gather(x, index, out)) return;
    }
    cpuBackend.gather(args);
  }

  function scatterAdd(args: ScatterAddArgs): void {
    const { gy, outer, n, inner, index, m, gx } = args;
    if (outer * m * inner >= nativeThresholds.indexing) {
      meta[ML.indexing.outer] = outer;
      meta[ML.indexing.n] = n;
      meta[ML.indexing.inner] = inner;
      meta[ML.indexing.m] = m;
      if (addon().scatterAdd(gy, index, gx)) return;
    }
    cpuBackend.scatterAdd(args);
  }

  // ---- attention -----------------------------------------------------------------------------------

  function putAttention(args: AttentionArgs): boolean {
    const { B, H, T, S, D, Dv } = args;
    if (B * H * T * S * (D + Dv) < nativeThresholds.attention) return false;
    meta[ML.attention.B] = B;
    meta[ML.attention.H] = H;
    meta[ML.attention.T] = T;
    meta[ML.attention.S] = S;
    meta[ML.attention.D] = D;
    meta[ML.attention.Dv] = Dv;
    meta[ML.attention.scale] = args.scale;
    meta[ML.attention.causal] = args.isCausal ? 1 : 0;
    const mask = args.mask;
    meta[ML.attention.hasMask] = mask ? 1 : 0;
    if (mask) {
      meta[ML.attention.maskOffset] = mask.offset;
      for (let i = 0; i < 4; i++) meta[ML.attention.ms0 + i] = mask.strides[i];
    }
    const lay = args.layout;
    meta[ML.attention.hasLayout] = lay ? 1 : 0;
    if (lay) {
      let p = ML.attention.qOffset; // four (offset, batch, head, row) groups: q, k, v, out
      for (const l of [lay.q, lay.k, lay.v, lay.out]) {
        meta[p++] = l.offset;
        meta[p++] = l.batch;
        meta[p++] = l.head;
        meta[p++] = l.row;
      }
    }
    return true;
  }

  function attentionForward(args: AttentionForwardArgs): void {
    const { out, lse } = args;
    if (putAttention(args)) {
      const ok = args.mask
        ? addon().attentionForward(args.q, args.k, args.v, out, lse, args.mask.data)
        : addon().attentionForward(args.q, args.k, args.v, out, lse);
      if (ok) return;
    }
    cpuBackend.attentionForward(args);
  }

  function attentionBackward(args: AttentionBackwardArgs): void {
    const { out, lse, gOut, gq, gk, gv } = args;
    if (putAttention(args)) {
      const { q, k, v } = args;
      const ok = args.mask
        ? addon().attentionBackward(q, k, v, out, lse, gOut, gq, gk, gv, args.mask.data)
        : addon().attentionBackward(q, k, v, out, lse, gOut, gq, gk, gv);
      if (ok) return;
    }
    cpuBackend.attentionBackward(args);
  }

  // ---- inference -----------------------------------------------------------------------------------

  /** A mask's offset and its 4 strides over (B, H, T, S), from meta slot `at` (maskOffset or memMaskOffset). */
  function putLayerMask(at: number, m: Strided | null): void {
    meta[at] = m ? m.offset : 0;
    for (let d = 0; d < 4; d++) meta[at + 1 + d] = m ? m.strides[d] : 0;
  }

  /**
   * The fused transformer layer: one addon call per layer and token step. Its argument order is the
   * `layer::Slot` enum of native/addon.cc; null marks an absent operand.
   */
  function transformerLayerForward(args: TransformerLayerArgs, out: FloatArray): void {
    const L = ML.transformerLayer;
    meta[L.B] = args.B;
    meta[L.T] = args.T;
    meta[L.C] = args.C;
    meta[L.H] = args.H;
    meta[L.F] = args.F;
    meta[L.past] = args.past;
    meta[L.cap] = args.cap;
    meta[L.Sm] = args.Sm;
    meta[L.eps] = args.eps;
    meta[L.normFirst] = args.normFirst ? 1 : 0;
    meta[L.causal] = args.causal ? 1 : 0;
    meta[L.wT] = args.weightsTransposed ? 1 : 0;
    meta[L.act] = UNARY[args.activation];
    putLayerMask(L.maskOffset, args.mask);
    putLayerMask(L.memMaskOffset, args.memoryMask);
    const ok = addon().transformerLayer(
      args.x,
      out,
      args.norm1W,
      args.norm1B,
      args.qW,
      args.qB,
      args.kW,
      args.kB,
      args.vW,
      args.vB,
      args.outW,
      args.outB,
      args.mask?.data ?? null,
      args.k,
      args.v,
      args.norm3W,
      args.norm3B,
      args.fcW,
      args.fcB,
      args.projW,
      args.projB,
      args.norm2W,
      args.norm2B,
      args.crossQW,
      args.crossQB,
      args.crossOutW,
      args.crossOutB,
      args.memoryK,
      args.memoryV,
      args.memoryMask?.data ?? null,
    );
    // The op validated everything, so a refusal here is a bug, never a reason to fall back.
    if (!ok) throw new Error("native transformerLayer: the addon rejected its arguments");
  }

  const transformerLayer: FusedTransformerLayer = {
    dtypes: ["float32", "float64"],
    forward: transformerLayerForward,
  };

  /** Reads the int8 or bfloat16 weight in place; a product below the gemm threshold stays on cpu. */
  function quantizedLinearForward(args: QuantizedLinearArgs): void {
    const { M, N, K, x, weight, bias, out } = args;
    if (M * N * K >= nativeThresholds.gemm) {
      const L = ML.quantizedLinear;
      meta[L.M] = M;
      meta[L.N] = N;
      meta[L.K] = K;
      meta[L.kind] = weight.kind === "int8" ? 0 : 1;
      const scales = weight.kind === "int8" ? weight.scales : null;
      if (addon().quantizedLinear(x, weight.data, scales, bias, out)) return;
    }
    cpuQuantizedLinear.forward(args);
  }

  const quantizedLinear: FusedQuantizedLinear = { forward: quantizedLinearForward };

  // ---- optimizers ----------------------------------------------------------------------------------

  function putAdam(opts: AdamStepOptions, amsgrad: boolean): void {
    meta[ML.adam.lr] = opts.lr;
    meta[ML.adam.beta1] = opts.beta1;
    meta[ML.adam.beta2] = opts.beta2;
    meta[ML.adam.eps] = opts.eps;
    meta[ML.adam.weightDecay] = opts.weightDecay;
    meta[ML.adam.step] = opts.step;
    meta[ML.adam.decoupled] = opts.decoupled ? 1 : 0;
    meta[ML.adam.hasMax] = amsgrad ? 1 : 0;
  }

  function totalLength(xs: readonly FloatArray[]): number {
    let n = 0;
    for (const x of xs) n += x.length;
    return n;
  }

  // One call for the whole list: the addon splits it into fixed chunks spread over the thread pool.
  function adamStepMulti(args: AdamStepArgs): void {
    const { params, grads, expAvgs, expAvgSqs, maxExpAvgSqs } = args;
    if (totalLength(params) >= nativeThresholds.optimizer) {
      putAdam(args, maxExpAvgSqs !== null);
      const [ps, gs, ms, vs] = [params, grads, expAvgs, expAvgSqs] as FloatArray[][];
      const ok = maxExpAvgSqs
        ? addon().adamStepMulti(ps, gs, ms, vs, maxExpAvgSqs as FloatArray[])
        : addon().adamStepMulti(ps, gs, ms, vs);
      if (ok) return;
    }
    cpuBackend.adamStepMulti(args);
  }

  function sumOfSquares(args: SumOfSquaresArgs): void {
    const { xs, out } = args;
    if (
      totalLength(xs) < nativeThresholds.reduce ||
      out.length < xs.length ||
      !addon().sumOfSquares(xs as FloatArray[], out)
    )
      cpuBackend.sumOfSquares(args);
  }

  function scaleInPlace(args: ScaleInPlaceArgs): void {
    const { xs, scale } = args;
    if (totalLength(xs) >= nativeThresholds.elementwise) {
      meta[ML.scaleInPlace.scale] = scale;
      if (addon().scaleInPlace(xs as FloatArray[])) return;
    }
    cpuBackend.scaleInPlace(args);
  }

  // ---- the backend ---------------------------------------------------------------------------------

  return {
    name,
    // Declared capabilities beyond the contract; models ask for them and fall back to their ops.
    fused: { transformerLayer, quantizedLinear },
    copy,
    // TypedArray.prototype.fill is already a native loop.
    fill: cpuBackend.fill,
    unary,
    unaryBackward,
    binary,
    compare,
    where,
    clamp,
    reduce,
    // Used for sampling and metrics on small tensors; the reference loop is fast enough.
    argReduce: cpuBackend.argReduce,
    gemm,
    softmaxForward,
    softmaxBackward,
    logSoftmaxForward,
    logSoftmaxBackward,
    layerNormForward,
    layerNormBackward,
    crossEntropyForward,
    crossEntropyBackward,
    indexSelect,
    indexAdd,
    gather,
    scatterAdd,
    attentionForward,
    attentionBackward,
    adamStepMulti,
    sumOfSquares,
    scaleInPlace,
  } satisfies Backend;
}
