/** Reductions over one or several dims, with keepdim, and their backward rules. */
import { record } from "../autograd/graph.js";
import type { ReduceOp } from "../backend/backend.js";
import { allocate } from "../tensor/dtype.js";
import type { Tensor } from "../tensor/tensor.js";
import { normDim, sameShape, shapeStr, sizeOf } from "../util/shape.js";
import { backend, dense, requireFloat, wrap } from "./core.js";
import { add, div, eq, exp, log, mul, sqrt, square, sub } from "./elementwise.js";
import { detach, expand, reshape } from "./shape.js";

/** The dimensions a reduction runs over: one, several, or all of them (undefined). Negative ones count from the end. */
export type Dims = number | readonly number[] | undefined;

/** Options of the reductions: `keepdim` keeps each reduced dimension with size 1, as in PyTorch. */
export interface ReduceOptions {
  keepdim?: boolean;
}

/** Sorted, validated dims to reduce (all dims when undefined). */
function reduceDims(op: string, x: Tensor, dim: Dims): number[] {
  if (dim === undefined) return x.shape.map((_, i) => i);
  const list = typeof dim === "number" ? [dim] : [...dim];
  const norm = list.map((d) => normDim(op, d, x.ndim, x.shape));
  if (new Set(norm).size !== norm.length) {
    throw new Error(`${op}: dim ${shapeStr(list)} repeats a dim of the tensor of shape ${shapeStr(x.shape)}`);
  }
  return norm.sort((a, b) => a - b);
}

function keptShape(shape: readonly number[], dims: number[]): number[] {
  return shape.map((s, i) => (dims.includes(i) ? 1 : s));
}

/** Runs a kernel reduction over each dim in turn (sum of sums, max of maxes). */
function rawReduce(op: ReduceOp, x: Tensor, dims: number[], dtype = x.dtype): Tensor {
  let data = dense(x);
  let shape = [...x.shape];
  if (x.ndim === 0) {
    const out = allocate(dtype, 1);
    out[0] = data[0];
    return wrap(out, []);
  }
  // Reduce adjacent dims together, from the last run to the first.
  const runs: [number, number][] = [];
  for (const d of dims) {
    const last = runs[runs.length - 1];
    if (last && last[1] === d - 1) last[1] = d;
    else runs.push([d, d]);
  }
  for (let r = runs.length - 1; r >= 0; r--) {
    const [s, e] = runs[r];
    const outer = sizeOf(shape.slice(0, s));
    const n = sizeOf(shape.slice(s, e + 1));
    const inner = sizeOf(shape.slice(e + 1));
    if (n === 0 && (op === "max" || op === "min")) {
      throw new Error(`${op}: cannot reduce over an empty dimension (shape ${shapeStr(x.shape)})`);
    }
    const out = allocate(dtype, outer * inner);
    backend().reduce({ op, x: data, outer, n, inner, out });
    data = out;
    shape = [...shape.slice(0, s), ...new Array(e - s + 1).fill(1), ...shape.slice(e + 1)];
  }
  return wrap(data, shape);
}

function finish(out: Tensor, x: Tensor, dims: number[], keepdim: boolean): Tensor {
  if (keepdim) return out;
  return reshape(
    out,
    x.shape.filter((_, i) => !dims.includes(i)),
  );
}

/**
 * Sum over `dim` (all dims by default).
 * @example sum(x, 1, { keepdim: true })
 */
export function sum(x: Tensor, dim?: Dims, opts: ReduceOptions = {}): Tensor {
  const dims = reduceDims("sum", x, dim);
  const outDtype = x.dtype === "bool" ? "int32" : x.dtype;
  const kept = rawReduce("sum", x, dims, outDtype);
  const inShape = x.shape;
  record(kept, "sum", [x], (g) => [expand(g, inShape)]);
  return finish(kept, x, dims, opts.keepdim ?? false);
}

/** Mean over `dim` (all dims by default). */
export function mean(x: Tensor, dim?: Dims, opts: ReduceOptions = {}): Tensor {
  requireFloat("mean", x);
  const dims = reduceDims("mean", x, dim);
  const count = dims.reduce((a, d) => a * x.shape[d], 1);
  return div(sum(x, dims, opts), count);
}

function extreme(op: "max" | "min", x: Tensor, dim: Dims, opts: ReduceOptions): Tensor {
  const dims = reduceDims(op, x, dim);
  if (x.numel() === 0) throw new Error(`${op}: cannot reduce an empty tensor of shape ${shapeStr(x.shape)}`);
  const kept = rawReduce(op, x, dims);
  // The gradient flows to the elements equal to the extreme, split evenly between ties.
  record(kept, op, [x], (g) => {
    const hit = eq(x, expand(detach(kept), x.shape));
    const count = sum(hit, dims, { keepdim: true });
    return [div(mul(hit, expand(g, x.shape)), count)];
  });
  return finish(kept, x, dims, opts.keepdim ?? false);
}

/** Maximum over `dim` (all dims by default). For indices use `argmax`. */
export function max(x: Tensor, dim?: Dims, opts: ReduceOptions = {}): Tensor {
  return extreme("max", x, dim, opts);
}

/** Minimum over `dim` (all dims by default). For indices use `argmin`. */
export function min(x: Tensor, dim?: Dims, opts: ReduceOptions = {}): Tensor {
  return extreme("min", x, dim, opts);
}

function argExtreme(
  op: "argmax" | "argmin",
  x: Tensor,
  dim: number | undefined,
  opts: ReduceOptions,
): Tensor {
  if (x.numel() === 0) throw new Error(`${op}: cannot reduce an empty tensor of shape ${shapeStr(x.shape)}`);
  if (dim === undefined) {
    const flat = reshape(x, [x.numel()]);
    const r = argExtreme(op, flat, 0, {});
    return opts.keepdim
      ? reshape(
          r,
          x.shape.map(() => 1),
        )
      : reshape(r, []);
  }
  const d = normDim(op, dim, x.ndim, x.shape);
  const outer = sizeOf(x.shape.slice(0, d));
  const inner = sizeOf(x.shape.slice(d + 1));
  const out = new Int32Array(outer * inner);
  backend().argReduce({ op, x: dense(x), outer, n: x.shape[d] ?? 1, inner, out });
  const kept = wrap(out, keptShape(x.shape, [d]));
  return finish(kept, x, [d], opts.keepdim ?? false);
}

/** Index of the maximum along `dim` (of the flattened tensor when omitted); int32. */
export function argmax(x: Tensor, dim?: number, opts: ReduceOptions = {}): Tensor {
  return argExtreme("argmax", x, dim, opts);
}

/** Index of the minimum along `dim`; int32. */
export function argmin(x: Tensor, dim?: number, opts: ReduceOptions = {}): Tensor {
  return argExtreme("argmin", x, dim, opts);
}

/** Options of {@link variance} and {@link std}. */
export interface VarOptions extends ReduceOptions {
  /** Bessel's correction: divide by N − correction (PyTorch's default is 1). */
  correction?: number;
}

/** Variance over `dim`, unbiased by default like torch.var. */
export function variance(x: Tensor, dim?: Dims, opts: VarOptions = {}): Tensor {
  requireFloat("var", x);
  const dims = reduceDims("var", x, dim);
  const n = dims.reduce((a, d) => a * x.shape[d], 1);
  const mu = mean(x, dims, { keepdim: true });
  const ss = sum(square(sub(x, mu)), dims, { keepdim: opts.keepdim ?? false });
  return div(ss, Math.max(0, n - (opts.correction ?? 1)));
}

/** Standard deviation over `dim` (sqrt of `variance`). */
export function std(x: Tensor, dim?: Dims, opts: VarOptions = {}): Tensor {
  return sqrt(variance(x, dim, opts));
}

/** log Σ exp(x) over `dim`, stable: the max is factored out (and detached; it cancels in the gradient). */
export function logsumexp(x: Tensor, dim: Dims, opts: ReduceOptions = {}): Tensor {
  requireFloat("logsumexp", x);
  const dims = reduceDims("logsumexp", x, dim);
  let m = detach(max(x, dims, { keepdim: true }));
  // Rows that are all −∞ (or +∞) would give NaN from x − m; use 0 as their shift instead.
  const mData = m.data;
  let fixed = false;
  for (let i = 0; i < mData.length; i++) if (!Number.isFinite(mData[i])) fixed = true;
  if (fixed) {
    const data = mData.slice();
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) data[i] = 0;
    m = wrap(data, m.shape);
  }
  const out = add(log(sum(exp(sub(x, m)), dims, { keepdim: true })), m);
  return finish(out, x, dims, opts.keepdim ?? false);
}

/** Sums a broadcast gradient back down to `shape` (the inverse of broadcasting). */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  }
  const s = dims.length > 0 ? sum(g, dims, { keepdim: true }) : g;
  return reshape(s, shape);
}
