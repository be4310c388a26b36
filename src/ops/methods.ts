/**
 * PyTorch-style methods on Tensor (`x.add(y).relu()`, `loss.backward()`), declared on the class
 * through module augmentation and implemented by the functional ops. They are collected in one
 * table and installed on Tensor.prototype by this module when it is evaluated, which is its only
 * effect; the package entry point imports it.
 */

import type { DType } from "../backend/backend.js";
import { type DerivedUnaryOp, UNARY_OPS } from "../backend/op-table.js";
import { Tensor } from "../tensor/tensor.js";
import type { TensorLike } from "./core.js";
import * as ops from "./index.js";
import type { Dims, ReduceOptions, VarOptions } from "./reduce.js";

/**
 * A method per "derived" row of the unary table (`x.softplus()`), spelled out so each has its
 * own doc line. {@link DerivedUnaryInSync} fails to compile when this list and the table differ.
 */
interface DerivedUnaryMethods {
  /** eˣ elementwise, as torch.exp. */
  exp(): Tensor;
  /** Natural logarithm elementwise, as torch.log. */
  log(): Tensor;
  /** √x elementwise, as torch.sqrt. */
  sqrt(): Tensor;
  /** 1/√x elementwise, as torch.rsqrt. */
  rsqrt(): Tensor;
  /** |x| elementwise; the gradient at 0 is 0, as in PyTorch. */
  abs(): Tensor;
  /** tanh(x) elementwise. */
  tanh(): Tensor;
  /** The logistic function 1/(1+e⁻ˣ) elementwise, computed without overflow. */
  sigmoid(): Tensor;
  /** max(x, 0) elementwise. */
  relu(): Tensor;
  /** x·σ(x) elementwise (SiLU, a.k.a. swish). */
  silu(): Tensor;
  /** sin(x) elementwise. */
  sin(): Tensor;
  /** cos(x) elementwise. */
  cos(): Tensor;
  /** x² elementwise. */
  square(): Tensor;
  /** 1/x elementwise. */
  reciprocal(): Tensor;
  /** sign(x) ∈ {−1, 0, 1} elementwise; its gradient is 0. */
  sign(): Tensor;
  /** log(1 + eˣ) elementwise, as torch.nn.functional.softplus. */
  softplus(): Tensor;
  /** log σ(x) elementwise, as torch.nn.functional.logsigmoid. */
  logsigmoid(): Tensor;
  /** x·tanh(softplus(x)) elementwise, as torch.nn.functional.mish. */
  mish(): Tensor;
}

/** True only when DerivedUnaryMethods names exactly the table's derived rows. */
type DerivedUnaryInSync = [keyof DerivedUnaryMethods] extends [DerivedUnaryOp]
  ? [DerivedUnaryOp] extends [keyof DerivedUnaryMethods]
    ? true
    : false
  : false;
const derivedUnaryInSync: DerivedUnaryInSync = true;
void derivedUnaryInSync;

declare module "../tensor/tensor.js" {
  interface Tensor extends DerivedUnaryMethods {
    /** Elementwise sum with broadcasting (a number counts as a 0-d tensor), as torch.add. */
    add(other: TensorLike): Tensor;
    /** Elementwise difference with broadcasting, as torch.sub. */
    sub(other: TensorLike): Tensor;
    /** Elementwise product with broadcasting, as torch.mul. */
    mul(other: TensorLike): Tensor;
    /** Elementwise true division with broadcasting, as torch.div. */
    div(other: TensorLike): Tensor;
    /** Elementwise power with broadcasting, as torch.pow. */
    pow(exponent: TensorLike): Tensor;
    /** −x elementwise; integer tensors stay integer. */
    neg(): Tensor;
    /** GELU, x·Φ(x); `approximate: "tanh"` gives GPT-2's tanh form. */
    gelu(opts?: { approximate?: "none" | "tanh" }): Tensor;
    /** Elementwise maximum of two broadcast tensors (NaN wins), as torch.maximum. */
    maximum(other: TensorLike): Tensor;
    /** Elementwise minimum of two broadcast tensors (NaN wins), as torch.minimum. */
    minimum(other: TensorLike): Tensor;
    /** Clamps every element into [min, max]; either bound may be left out. */
    clamp(opts: { min?: number; max?: number }): Tensor;
    /** Elementwise `==` into a bool tensor. */
    eq(other: TensorLike): Tensor;
    /** Elementwise `!=` into a bool tensor. */
    ne(other: TensorLike): Tensor;
    /** Elementwise `<` into a bool tensor. */
    lt(other: TensorLike): Tensor;
    /** Elementwise `<=` into a bool tensor. */
    le(other: TensorLike): Tensor;
    /** Elementwise `>` into a bool tensor. */
    gt(other: TensorLike): Tensor;
    /** Elementwise `>=` into a bool tensor. */
    ge(other: TensorLike): Tensor;
    /** Sum over `dim` (all dimensions when omitted), as torch.sum. */
    sum(dim?: Dims, opts?: ReduceOptions): Tensor;
    /** Mean over `dim` (all dimensions when omitted), as torch.mean. */
    mean(dim?: Dims, opts?: ReduceOptions): Tensor;
    /** Maximum over `dim` (all dimensions when omitted); the values only, no indices. */
    max(dim?: Dims, opts?: ReduceOptions): Tensor;
    /** Minimum over `dim` (all dimensions when omitted); the values only, no indices. */
    min(dim?: Dims, opts?: ReduceOptions): Tensor;
    /** Int32 index of the maximum along `dim` (of the flattened tensor when omitted). */
    argmax(dim?: number, opts?: ReduceOptions): Tensor;
    /** Int32 index of the minimum along `dim` (of the flattened tensor when omitted). */
    argmin(dim?: number, opts?: ReduceOptions): Tensor;
    /** Variance over `dim`, with Bessel's correction unless `opts.correction` says otherwise. */
    var(dim?: Dims, opts?: VarOptions): Tensor;
    /** Standard deviation over `dim`, the square root of {@link Tensor.var}. */
    std(dim?: Dims, opts?: VarOptions): Tensor;
    /** log Σ exp(x) over `dim`, computed stably, as torch.logsumexp. */
    logsumexp(dim: Dims, opts?: ReduceOptions): Tensor;
    /** Matrix product with batch broadcasting, as torch.matmul (1-D operands act as vectors). */
    matmul(other: Tensor): Tensor;
    /** The same elements in a new shape (one size may be −1); a view when the strides allow, else a copy. */
    reshape(...shape: number[] | [readonly number[]]): Tensor;
    /** A view with a new shape; throws when the strides make that impossible (use reshape). */
    view(...shape: number[] | [readonly number[]]): Tensor;
    /** A view with dimensions `dim0` and `dim1` swapped. */
    transpose(dim0: number, dim1: number): Tensor;
    /** A view with the dimensions reordered, as torch.permute. */
    permute(...dims: number[] | [readonly number[]]): Tensor;
    /** A broadcast view to a larger shape (size-1 dimensions repeat, −1 keeps a size), no copy. */
    expand(...shape: number[] | [readonly number[]]): Tensor;
    /** Removes size-1 dimensions: all of them, or only those named. */
    squeeze(dim?: number | number[]): Tensor;
    /** Inserts a size-1 dimension at `dim`. */
    unsqueeze(dim: number): Tensor;
    /** Merges dimensions `startDim`…`endDim` (default: all) into one. */
    flatten(startDim?: number, endDim?: number): Tensor;
    /** A view of `length` elements of `dim` from `start`. */
    narrow(dim: number, start: number, length: number): Tensor;
    /** A view at one `index` of `dim`, which drops that dimension. */
    select(dim: number, index: number): Tensor;
    /** Views of pieces along `dim`: of `size` each (the last may be shorter), or of the listed sizes. */
    split(size: number | readonly number[], dim?: number): Tensor[];
    /** Splits along `dim` into `chunks` nearly equal views, as torch.chunk. */
    chunk(chunks: number, dim?: number): Tensor[];
    /** This tensor when already row-major contiguous, otherwise a contiguous copy. */
    contiguous(): Tensor;
    /** A copy with its own storage that stays in the graph (gradients flow back to this tensor). */
    clone(): Tensor;
    /** The same storage, cut from the autograd graph. */
    detach(): Tensor;
    /** Converts to `dtype` (this tensor itself when it already has it). */
    to(dtype: DType): Tensor;
    /** Converts to float32. */
    float(): Tensor;
    /** Converts to float64. */
    double(): Tensor;
    /** Converts to int32 (truncating toward zero). */
    int(): Tensor;
    /** Softmax along `dim` (default −1). */
    softmax(dim?: number): Tensor;
    /** Log-softmax along `dim` (default −1), stabler than log(softmax). */
    logSoftmax(dim?: number): Tensor;
    /** A copy with `value` wherever the broadcast bool `mask` is true, as torch.masked_fill. */
    maskedFill(mask: Tensor, value: TensorLike): Tensor;
    /** Picks values along `dim` at the int32 `index` (same rank), as torch.gather. */
    gather(dim: number, index: Tensor): Tensor;
    /** Picks whole slices of `dim` at the 1-D int32 `index`, as torch.index_select. */
    indexSelect(dim: number, index: Tensor): Tensor;
    /** The lower triangle of the last two dimensions (diagonal offset `k`); the rest is zero. */
    tril(k?: number): Tensor;
    /** The upper triangle of the last two dimensions (diagonal offset `k`); the rest is zero. */
    triu(k?: number): Tensor;
    /** Back-propagates from this tensor; see `backward`. */
    backward(gradient?: Tensor, opts?: ops.BackwardOptions): void;
    /** Sets every element to 0 in place; returns this tensor. */
    zero_(): Tensor;
    /** Sets every element to `value` in place; returns this tensor. */
    fill_(value: number): Tensor;
    /** Copies `src` (broadcast, converted to this dtype) into this tensor in place; returns it. */
    copy_(src: Tensor): Tensor;
  }
}

/** Accepts `f(2, 3)` and `f([2, 3])`. */
function dims(args: unknown[]): number[] {
  return (Array.isArray(args[0]) ? args[0] : args) as number[];
}

/** The methods, gathered here and installed by {@link installTensorMethods} below. */
const P = Object.create(null) as Tensor;
P.add = function (o) {
  return ops.add(this, o);
};
P.sub = function (o) {
  return ops.sub(this, o);
};
P.mul = function (o) {
  return ops.mul(this, o);
};
P.div = function (o) {
  return ops.div(this, o);
};
P.pow = function (o) {
  return ops.pow(this, o);
};
P.neg = function () {
  return ops.neg(this);
};
P.gelu = function (o) {
  return ops.gelu(this, o);
};
P.maximum = function (o) {
  return ops.maximum(this, o);
};
P.minimum = function (o) {
  return ops.minimum(this, o);
};
P.clamp = function (o) {
  return ops.clamp(this, o);
};
P.eq = function (o) {
  return ops.eq(this, o);
};
P.ne = function (o) {
  return ops.ne(this, o);
};
P.lt = function (o) {
  return ops.lt(this, o);
};
P.le = function (o) {
  return ops.le(this, o);
};
P.gt = function (o) {
  return ops.gt(this, o);
};
P.ge = function (o) {
  return ops.ge(this, o);
};
P.sum = function (d, o) {
  return ops.sum(this, d, o);
};
P.mean = function (d, o) {
  return ops.mean(this, d, o);
};
P.max = function (d, o) {
  return ops.max(this, d, o);
};
P.min = function (d, o) {
  return ops.min(this, d, o);
};
P.argmax = function (d, o) {
  return ops.argmax(this, d, o);
};
P.argmin = function (d, o) {
  return ops.argmin(this, d, o);
};
P.var = function (d, o) {
  return ops.variance(this, d, o);
};
P.std = function (d, o) {
  return ops.std(this, d, o);
};
P.logsumexp = function (d, o) {
  return ops.logsumexp(this, d, o);
};
P.matmul = function (o) {
  return ops.matmul(this, o);
};
P.reshape = function (...s) {
  return ops.reshape(this, dims(s));
};
P.view = function (...s) {
  return ops.view(this, dims(s));
};
P.transpose = function (a, b) {
  return ops.transpose(this, a, b);
};
P.permute = function (...s) {
  return ops.permute(this, dims(s));
};
P.expand = function (...s) {
  return ops.expand(this, dims(s));
};
P.squeeze = function (d) {
  return ops.squeeze(this, d);
};
P.unsqueeze = function (d) {
  return ops.unsqueeze(this, d);
};
P.flatten = function (s, e) {
  return ops.flatten(this, s, e);
};
P.narrow = function (d, s, l) {
  return ops.narrow(this, d, s, l);
};
P.select = function (d, i) {
  return ops.select(this, d, i);
};
P.split = function (s, d) {
  return ops.split(this, s, d);
};
P.chunk = function (c, d) {
  return ops.chunk(this, c, d);
};
P.contiguous = function () {
  return ops.contiguous(this);
};
P.clone = function () {
  return ops.clone(this);
};
P.detach = function () {
  return ops.detach(this);
};
P.to = function (d) {
  return ops.to(this, d);
};
P.float = function () {
  return ops.to(this, "float32");
};
P.double = function () {
  return ops.to(this, "float64");
};
P.int = function () {
  return ops.to(this, "int32");
};
P.softmax = function (d) {
  return ops.softmax(this, d);
};
P.logSoftmax = function (d) {
  return ops.logSoftmax(this, d);
};
P.maskedFill = function (m, v) {
  return ops.maskedFill(this, m, v);
};
P.gather = function (d, i) {
  return ops.gather(this, d, i);
};
P.indexSelect = function (d, i) {
  return ops.indexSelect(this, d, i);
};
P.tril = function (k) {
  return ops.tril(this, k);
};
P.triu = function (k) {
  return ops.triu(this, k);
};
P.backward = function (g, o) {
  ops.backward(this, g, o);
};
P.zero_ = function () {
  return ops.zero_(this);
};
P.fill_ = function (v) {
  return ops.fill_(this, v);
};
P.copy_ = function (s) {
  return ops.copy_(this, s);
};

// The unary table's derived rows, so a new row needs no edit here.
for (const row of UNARY_OPS) {
  if (row.api !== "derived") continue;
  const f = ops.unaryOps[row.name];
  P[row.name] = function (this: Tensor) {
    return f(this);
  };
}

/** Marks a function this module installed, so that a re-evaluated copy may replace it. */
const INSTALLED = Symbol.for("qkv.tensorMethod");

/**
 * Defines every method of the table on Tensor.prototype (non-enumerable, like class methods).
 * Refuses to replace a method Tensor itself defines, so a name clash fails loudly at load.
 */
function installTensorMethods(): void {
  const proto = Tensor.prototype as unknown as Record<string, unknown>;
  for (const [name, fn] of Object.entries(P) as [string, (...args: unknown[]) => unknown][]) {
    const existing = Object.getOwnPropertyDescriptor(proto, name)?.value as
      | { [INSTALLED]?: true }
      | undefined;
    if (existing !== undefined && !existing[INSTALLED]) {
      throw new Error(`ops/methods.ts: Tensor already defines "${name}"; refusing to replace it`);
    }
    Object.defineProperty(fn, INSTALLED, { value: true });
    Object.defineProperty(proto, name, { value: fn, writable: true, configurable: true, enumerable: false });
  }
}

installTensorMethods();
