/** Indexing ops: gather, indexSelect, embedding lookup, maskedFill, tril/triu. */
import { record } from "../autograd/graph.js";
import type { DType, FloatArray } from "../backend/backend.js";
import { arange } from "../tensor/create.js";
import { allocate, allocateUninit, isFloating } from "../tensor/dtype.js";
import type { Tensor } from "../tensor/tensor.js";
import { broadcastShapes, normDim, shapeStr, sizeOf } from "../util/shape.js";
import { backend, checkIndices, dense, requireDtype, type TensorLike, wrap } from "./core.js";
import { add, ge, where } from "./elementwise.js";
import { reshape, unsqueeze } from "./shape.js";

/**
 * Picks entries of `x` along `dim` at the positions in the int32 `index` (1-D), like torch.index_select.
 * @example indexSelect(x, 0, tensor([2, 0], { dtype: "int32" }))
 */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  requireDtype("indexSelect", index, "int32", "index");
  if (index.ndim > 1)
    throw new Error(`indexSelect: index must be 0-D or 1-D, got shape ${shapeStr(index.shape)}`);
  const d = normDim("indexSelect", dim, x.ndim, x.shape);
  const idx = dense<Int32Array>(index);
  const n = x.shape[d];
  checkIndices("indexSelect", idx, n, "index", `dim ${d} of input shape ${shapeStr(x.shape)}`);
  const outer = sizeOf(x.shape.slice(0, d));
  const inner = sizeOf(x.shape.slice(d + 1));
  const m = idx.length;
  const out = allocateUninit(x.dtype, outer * m * inner);
  backend().indexSelect({ x: dense(x), outer, n, inner, index: idx, out });
  const shape = [...x.shape];
  shape[d] = m;
  // gx[index[j]] += g[j]: into a zero gradient of x's full size, or (backwardInto) into the one the
  // sweep already holds for x, e.g. an embedding tied to an LM head whose product ran first.
  const scatter = (g: Tensor, gx: FloatArray) =>
    backend().indexAdd({ gy: dense<FloatArray>(g), outer, n, inner, index: idx, gx });
  const fresh = (g: Tensor) => {
    const gx = allocate(x.dtype, x.numel()) as FloatArray;
    scatter(g, gx);
    return [wrap(gx, x.shape)];
  };
  return record(wrap(out, shape), "indexSelect", [x], fresh, undefined, (g, into) => {
    const acc = into[0];
    if (!acc) return fresh(g);
    scatter(g, acc.data as FloatArray);
    return [acc];
  });
}

/**
 * Embedding lookup: rows of `weight` (V, C) for int32 ids of any shape; the result has shape (…ids, C).
 * @example embedding(ids, wte)
 */
export function embedding(ids: Tensor, weight: Tensor): Tensor {
  requireDtype("embedding", ids, "int32", "ids");
  if (weight.ndim !== 2)
    throw new Error(`embedding: weight must be 2-D (num, dim), got ${shapeStr(weight.shape)}`);
  const flat = reshape(ids, [ids.numel()]);
  const idx = dense<Int32Array>(flat);
  checkIndices(
    "embedding",
    idx,
    weight.shape[0],
    "id",
    `weight of shape ${shapeStr(weight.shape)}, ids of shape ${shapeStr(ids.shape)}`,
  );
  return reshape(indexSelect(weight, 0, flat), [...ids.shape, weight.shape[1]]);
}

/**
 * out[o][j][i] = x[o][index[o][j][i]][i] along `dim`, like torch.gather (index has x's rank).
 * @example gather(x, 1, idx)
 */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  requireDtype("gather", index, "int32", "index");
  const d = normDim("gather", dim, x.ndim, x.shape);
  if (index.ndim !== x.ndim)
    throw new Error(
      `gather: index of shape ${shapeStr(index.shape)} must have as many dims as input ${shapeStr(x.shape)}`,
    );
  for (let i = 0; i < x.ndim; i++) {
    if (i !== d && index.shape[i] !== x.shape[i]) {
      throw new Error(
        `gather: index shape ${shapeStr(index.shape)} must match input shape ${shapeStr(x.shape)} outside dim ${d}`,
      );
    }
  }
  const idx = dense<Int32Array>(index);
  checkIndices(
    "gather",
    idx,
    x.shape[d],
    "index",
    `dim ${d} of input shape ${shapeStr(x.shape)}, index shape ${shapeStr(index.shape)}`,
  );
  const outer = sizeOf(x.shape.slice(0, d));
  const inner = sizeOf(x.shape.slice(d + 1));
  const n = x.shape[d];
  const m = index.shape[d];
  const out = allocate(x.dtype, index.numel());
  backend().gather({ x: dense(x), outer, n, inner, index: idx, m, out });
  return record(wrap(out, index.shape), "gather", [x], (g) => {
    const gx = allocate(x.dtype, x.numel()) as FloatArray;
    backend().scatterAdd({ gy: dense<FloatArray>(g), outer, n, inner, index: idx, m, gx });
    return [wrap(gx, x.shape)];
  });
}

/**
 * Replaces entries where the bool `mask` is true with `value` (mask broadcasts to x).
 * @example maskedFill(scores, causalMask, -Infinity)
 */
export function maskedFill(x: Tensor, mask: Tensor, value: TensorLike): Tensor {
  requireDtype("maskedFill", mask, "bool", "mask");
  broadcastShapes("maskedFill", x.shape, mask.shape);
  // A number fill value takes x's dtype (as in PyTorch), so a bool or int32 x stays bool or int32.
  const v =
    typeof value === "number" && (isFloating(x.dtype) || Number.isInteger(value))
      ? scalarOf(value, x.dtype)
      : value;
  return where(mask, v, x);
}

/** A 0-d tensor of `dtype` holding `value` (a bool holds value ≠ 0). */
function scalarOf(value: number, dtype: DType): Tensor {
  const arr = allocate(dtype, 1);
  arr[0] = dtype === "bool" ? (value !== 0 ? 1 : 0) : value;
  return wrap(arr, []);
}

/** Bool mask of (rows, cols) keeping j − i ≤ k (lower) or j − i ≥ k (upper). */
function triangle(rows: number, cols: number, k: number, upper: boolean): Tensor {
  const i = unsqueeze(arange(rows), 1);
  const j = unsqueeze(arange(cols), 0);
  return upper ? ge(j, add(i, k)) : ge(add(i, k), j);
}

/** Lower triangle of the last two dims (entries with j ≤ i + k), zeros elsewhere. */
export function tril(x: Tensor, k = 0): Tensor {
  if (x.ndim < 2) throw new Error(`tril: input must have at least 2 dims, got ${shapeStr(x.shape)}`);
  return where(triangle(x.shape[x.ndim - 2], x.shape[x.ndim - 1], k, false), x, scalarOf(0, x.dtype));
}

/** Upper triangle of the last two dims (entries with j ≥ i + k), zeros elsewhere. */
export function triu(x: Tensor, k = 0): Tensor {
  if (x.ndim < 2) throw new Error(`triu: input must have at least 2 dims, got ${shapeStr(x.shape)}`);
  return where(triangle(x.shape[x.ndim - 2], x.shape[x.ndim - 1], k, true), x, scalarOf(0, x.dtype));
}
