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

/** A method per "derived" row of the unary table: `x.softplus()`. */
type DerivedUnaryMethods = { [K in DerivedUnaryOp]: () => Tensor };

declare module "../tensor/tensor.js" {
  interface Tensor extends DerivedUnaryMethods {
    add(other: TensorLike): Tensor;
    sub(other: TensorLike): Tensor;
    mul(other: TensorLike): Tensor;
    div(other: TensorLike): Tensor;
    pow(exponent: TensorLike): Tensor;
    neg(): Tensor;
    gelu(opts?: { approximate?: "none" | "tanh" }): Tensor;
    maximum(other: TensorLike): Tensor;
    minimum(other: TensorLike): Tensor;
    clamp(opts: { min?: number; max?: number }): Tensor;
    eq(other: TensorLike): Tensor;
    ne(other: TensorLike): Tensor;
    lt(other: TensorLike): Tensor;
    le(other: TensorLike): Tensor;
    gt(other: TensorLike): Tensor;
    ge(other: TensorLike): Tensor;
    sum(dim?: Dims, opts?: ReduceOptions): Tensor;
    mean(dim?: Dims, opts?: ReduceOptions): Tensor;
    max(dim?: Dims, opts?: ReduceOptions): Tensor;
    min(dim?: Dims, opts?: ReduceOptions): Tensor;
    argmax(dim?: number, opts?: ReduceOptions): Tensor;
    argmin(dim?: number, opts?: ReduceOptions): Tensor;
    var(dim?: Dims, opts?: VarOptions): Tensor;
    std(dim?: Dims, opts?: VarOptions): Tensor;
    logsumexp(dim: Dims, opts?: ReduceOptions): Tensor;
    matmul(other: Tensor): Tensor;
    reshape(...shape: number[] | [readonly number[]]): Tensor;
    view(...shape: number[] | [readonly number[]]): Tensor;
    transpose(dim0: number, dim1: number): Tensor;
    permute(...dims: number[] | [readonly number[]]): Tensor;
    expand(...shape: number[] | [readonly number[]]): Tensor;
    squeeze(dim?: number | number[]): Tensor;
    unsqueeze(dim: number): Tensor;
    flatten(startDim?: number, endDim?: number): Tensor;
    narrow(dim: number, start: number, length: number): Tensor;
    select(dim: number, index: number): Tensor;
    split(size: number | readonly number[], dim?: number): Tensor[];
    chunk(chunks: number, dim?: number): Tensor[];
    contiguous(): Tensor;
    clone(): Tensor;
    detach(): Tensor;
    to(dtype: DType): Tensor;
    float(): Tensor;
    double(): Tensor;
    int(): Tensor;
    softmax(dim?: number): Tensor;
    logSoftmax(dim?: number): Tensor;
    maskedFill(mask: Tensor, value: TensorLike): Tensor;
    gather(dim: number, index: Tensor): Tensor;
    indexSelect(dim: number, index: Tensor): Tensor;
    tril(k?: number): Tensor;
    triu(k?: number): Tensor;
    /** Back-propagates from this tensor; see `backward`. */
    backward(gradient?: Tensor, opts?: ops.BackwardOptions): void;
    zero_(): Tensor;
    fill_(value: number): Tensor;
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
