/** Tensor creation: from JS data, constants, ranges and seeded random draws. */

import { defaultGenerator, type Generator } from "../util/rng.js";
import { checkShape, shapeStr, sizeOf } from "../util/shape.js";
import type { AnyArray, DType } from "./dtype.js";
import { allocate, dtypeOf } from "./dtype.js";
import { type NestedArray, Tensor } from "./tensor.js";

/** Options of the creation functions: the dtype (default float32) and whether the new leaf requires grad. */
export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

/** Options of the random creation functions; `generator` defaults to the global one ({@link manualSeed}). */
export interface RandomOptions extends CreateOptions {
  generator?: Generator;
}

function finish(t: Tensor, opts?: CreateOptions): Tensor {
  if (opts?.requiresGrad) t.requiresGrad_(true);
  return t;
}

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
  }
  return shape;
}

function flatten(data: NestedArray, shape: number[], dim: number, out: (number | boolean)[]): void {
  if (dim === shape.length) {
    if (Array.isArray(data)) throw new Error(`tensor: ragged nested array (too deep at dim ${dim})`);
    if (typeof data !== "number" && typeof data !== "boolean")
      throw new Error(`tensor: unsupported element ${String(data)}`);
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[dim]) {
    throw new Error(
      `tensor: ragged nested array: expected length ${shape[dim]} at dim ${dim} for shape ${shapeStr(shape)}`,
    );
  }
  for (const d of data) flatten(d, shape, dim + 1, out);
}

/**
 * Creates a tensor from nested arrays, a number, or a typed array (kept without copying).
 * Plain numbers become float32 unless `dtype` says otherwise; booleans become bool.
 * @example
 * const x = tensor([[1, 2], [3, 4]], { requiresGrad: true });
 */
export function tensor(
  data: NestedArray | AnyArray,
  opts: CreateOptions & { shape?: number[] } = {},
): Tensor {
  if (ArrayBuffer.isView(data)) {
    const arr = data as AnyArray;
    const shape = opts.shape ?? [arr.length];
    if (sizeOf(shape) !== arr.length)
      throw new Error(`tensor: ${arr.length} elements cannot have shape ${shapeStr(shape)}`);
    let t = new Tensor(arr, shape);
    if (opts.dtype && opts.dtype !== dtypeOf(arr)) {
      const conv = allocate(opts.dtype, arr.length);
      for (let i = 0; i < arr.length; i++) conv[i] = opts.dtype === "bool" ? (arr[i] !== 0 ? 1 : 0) : arr[i];
      t = new Tensor(conv, shape);
    }
    return finish(t, opts);
  }
  const shape = opts.shape ?? inferShape(data as NestedArray);
  const flat: (number | boolean)[] = [];
  if (opts.shape) {
    flatten(data as NestedArray, inferShape(data as NestedArray), 0, flat);
    if (flat.length !== sizeOf(shape))
      throw new Error(`tensor: ${flat.length} elements cannot have shape ${shapeStr(shape)}`);
  } else flatten(data as NestedArray, shape, 0, flat);
  const dtype = opts.dtype ?? (flat.length > 0 && typeof flat[0] === "boolean" ? "bool" : "float32");
  const arr = allocate(dtype, flat.length);
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i];
    arr[i] = typeof v === "boolean" ? (v ? 1 : 0) : dtype === "bool" ? (v !== 0 ? 1 : 0) : v;
  }
  return finish(new Tensor(arr, shape), opts);
}

/** Tensor of `shape` filled with `value`. */
export function full(shape: readonly number[], value: number, opts: CreateOptions = {}): Tensor {
  checkShape("full", shape);
  const arr = allocate(opts.dtype ?? "float32", sizeOf(shape));
  if (value !== 0) arr.fill(value);
  return finish(new Tensor(arr, shape), opts);
}

/** Tensor of zeros. @example zeros([2, 3]) */
export function zeros(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return full(shape, 0, opts);
}

/** Tensor of ones. @example ones([2, 3]) */
export function ones(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return full(shape, 1, opts);
}

/** A tensor with x's shape and dtype (unless overridden) filled with `value`. */
export function fullLike(x: Tensor, value: number, opts: CreateOptions = {}): Tensor {
  return full(x.shape, value, { dtype: x.dtype, ...opts });
}

/** A tensor of zeros with x's shape and dtype (unless `opts.dtype` overrides it). */
export function zerosLike(x: Tensor, opts: CreateOptions = {}): Tensor {
  return fullLike(x, 0, opts);
}

/** A tensor of ones with x's shape and dtype (unless `opts.dtype` overrides it). */
export function onesLike(x: Tensor, opts: CreateOptions = {}): Tensor {
  return fullLike(x, 1, opts);
}

/**
 * Values start, start+step, … below end, like `torch.arange`. Integer arguments give int32.
 * @example arange(5) // [0, 1, 2, 3, 4]
 */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  if (step === 0) throw new Error("arange: step must be non-zero");
  const n = Math.max(0, Math.ceil((end - start) / step));
  const ints = Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step);
  const arr = allocate(opts.dtype ?? (ints ? "int32" : "float32"), n);
  for (let i = 0; i < n; i++) arr[i] = start + i * step;
  return finish(new Tensor(arr, [n]), opts);
}

/** `steps` evenly spaced values from start to end inclusive. */
export function linspace(start: number, end: number, steps: number, opts: CreateOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0)
    throw new Error(`linspace: steps must be a non-negative integer, got ${steps}`);
  const arr = allocate(opts.dtype ?? "float32", steps);
  const step = steps > 1 ? (end - start) / (steps - 1) : 0;
  // Fill from both ends, as PyTorch does, so the last value is exactly `end`.
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) arr[i] = i < half ? start + step * i : end - step * (steps - 1 - i);
  // One step gives [start] (the loop above would give [end]), as in PyTorch.
  if (steps === 1) arr[0] = start;
  return finish(new Tensor(arr, [steps]), opts);
}

/** Identity matrix n×m (m defaults to n). */
export function eye(n: number, m = n, opts: CreateOptions = {}): Tensor {
  const t = zeros([n, m], opts);
  for (let i = 0; i < Math.min(n, m); i++) t.data[i * m + i] = 1;
  return t;
}

/** Uniform samples in [0, 1). @example rand([2, 2], { generator: new Generator(0) }) */
export function rand(shape: readonly number[], opts: RandomOptions = {}): Tensor {
  checkShape("rand", shape);
  const g = opts.generator ?? defaultGenerator;
  const arr = allocate(opts.dtype ?? "float32", sizeOf(shape));
  g.fillUniform(arr, 0, 1);
  return finish(new Tensor(arr, shape), opts);
}

/** Standard normal samples. @example randn([3]) */
export function randn(shape: readonly number[], opts: RandomOptions = {}): Tensor {
  checkShape("randn", shape);
  const g = opts.generator ?? defaultGenerator;
  const arr = allocate(opts.dtype ?? "float32", sizeOf(shape));
  g.fillNormal(arr, 0, 1);
  return finish(new Tensor(arr, shape), opts);
}

/** Uniform integers in [low, high), int32 by default. @example randint(0, 10, [4]) */
export function randint(
  low: number,
  high: number,
  shape: readonly number[],
  opts: RandomOptions = {},
): Tensor {
  checkShape("randint", shape);
  const g = opts.generator ?? defaultGenerator;
  const arr = allocate(opts.dtype ?? "int32", sizeOf(shape));
  g.fillRandint(arr, low, high);
  return finish(new Tensor(arr, shape), opts);
}
