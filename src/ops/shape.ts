/**
 * Shape ops. Views (reshape of contiguous data, transpose, permute, expand, narrow, squeeze)
 * share storage and only change strides; cat/stack/contiguous copy through the backend.
 */
import { record } from "../autograd/graph.js";
import { Tensor } from "../tensor/tensor.js";
import { contiguousStrides, normDim, sameShape, shapeStr, sizeOf } from "../util/shape.js";
import { backend, empty } from "./core.js";
import { sumTo } from "./reduce.js";

/** A view of x's storage with a new shape/strides/offset. */
function viewOf(x: Tensor, shape: readonly number[], strides: readonly number[], offset: number): Tensor {
  return new Tensor(x.data, shape, strides, offset);
}

/** Resolves a single -1 and validates the element count. */
function inferShape(op: string, x: Tensor, shape: readonly number[]): number[] {
  const out = [...shape];
  const neg = out.indexOf(-1);
  if (out.filter((d) => d === -1).length > 1)
    throw new Error(`${op}: only one dimension can be -1, got ${shapeStr(shape)}`);
  const known = out.reduce((a, d) => (d === -1 ? a : a * d), 1);
  if (neg >= 0) {
    if (known === 0 || x.numel() % known !== 0)
      throw new Error(`${op}: shape ${shapeStr(shape)} is invalid for input of shape ${shapeStr(x.shape)}`);
    out[neg] = x.numel() / known;
  }
  for (const d of out)
    if (!Number.isInteger(d) || d < 0)
      throw new Error(`${op}: invalid size ${d} in shape ${shapeStr(shape)}`);
  if (sizeOf(out) !== x.numel())
    throw new Error(
      `${op}: shape ${shapeStr(shape)} is invalid for input of shape ${shapeStr(x.shape)} (${x.numel()} elements)`,
    );
  return out;
}

/**
 * Strides for viewing x as `shape` without copying, or null when impossible
 * (PyTorch's computeStride: split/merge only runs of dims that are contiguous with each other).
 */
function viewStrides(x: Tensor, shape: number[]): number[] | null {
  if (x.numel() === 0 || x.ndim === 0) return contiguousStrides(shape);
  const newStrides = new Array<number>(shape.length).fill(1);
  let vd = shape.length - 1;
  let chunkStride = x.strides[x.ndim - 1];
  let oldCount = 1;
  let newCount = 1;
  // Walk old dims from the right; a "chunk" is a run of old dims contiguous with each other.
  // Each chunk must be covered exactly by a run of new dims, which then get strides within it.
  for (let od = x.ndim - 1; od >= 0; od--) {
    oldCount *= x.shape[od];
    const chunkEnds = od === 0 || (x.shape[od - 1] !== 1 && x.strides[od - 1] !== oldCount * chunkStride);
    if (!chunkEnds) continue;
    while (vd >= 0 && (newCount < oldCount || shape[vd] === 1)) {
      newStrides[vd] = newCount * chunkStride;
      newCount *= shape[vd];
      vd--;
    }
    if (newCount !== oldCount) return null;
    if (od > 0) {
      chunkStride = x.strides[od - 1];
      oldCount = 1;
      newCount = 1;
    }
  }
  return vd === -1 ? newStrides : null;
}

/**
 * View with a new shape; fails if the data cannot be viewed without a copy (use reshape).
 * @example arange(6).view([2, 3])
 */
export function view(x: Tensor, shape: readonly number[]): Tensor {
  const target = inferShape("view", x, shape);
  const strides = viewStrides(x, target);
  if (!strides) {
    throw new Error(
      `view: cannot view a tensor of shape ${shapeStr(x.shape)} with strides ${shapeStr(x.strides)} as ${shapeStr(shape)}; use reshape()`,
    );
  }
  const out = viewOf(x, target, strides, x.offset);
  const inShape = x.shape;
  return record(out, "view", [x], (g) => [reshape(g, inShape)]);
}

/**
 * New shape with the same elements: a view when possible, otherwise a copy. One dim may be -1.
 * @example reshape(x, [-1, 4])
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const target = inferShape("reshape", x, shape);
  const strides = viewStrides(x, target);
  if (strides) {
    const out = viewOf(x, target, strides, x.offset);
    const inShape = x.shape;
    return record(out, "reshape", [x], (g) => [reshape(g, inShape)]);
  }
  return reshape(contiguous(x), target);
}

/** A contiguous tensor with x's values (x itself when already contiguous). */
export function contiguous(x: Tensor): Tensor {
  if (x.isContiguous()) return x;
  return clone(x);
}

/** A copy with its own contiguous storage; gradients flow through. */
export function clone(x: Tensor): Tensor {
  const out = empty(x.shape, x.dtype);
  backend().copy({
    shape: x.shape,
    src: { data: x.data, offset: x.offset, strides: x.strides },
    dst: { data: out.data, offset: 0, strides: out.strides },
  });
  return record(out, "clone", [x], (g) => [g]);
}

/** A tensor sharing x's data but cut from the graph. */
export function detach(x: Tensor): Tensor {
  return viewOf(x, x.shape, x.strides, x.offset);
}

/** Converts to another dtype (a copy; gradients flow between floating dtypes). */
export function to(x: Tensor, dtype: Tensor["dtype"]): Tensor {
  if (x.dtype === dtype) return x;
  const out = empty(x.shape, dtype);
  backend().copy({
    shape: x.shape,
    src: { data: x.data, offset: x.offset, strides: x.strides },
    dst: { data: out.data, offset: 0, strides: out.strides },
  });
  const from = x.dtype;
  if (dtype === "float32" || dtype === "float64") return record(out, "to", [x], (g) => [to(g, from)]);
  return out;
}

/** Swaps two dims (a view). @example transpose(x, -2, -1) */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const nd = Math.max(x.ndim, 1);
  const a = normDim("transpose", dim0, nd, x.shape);
  const b = normDim("transpose", dim1, nd, x.shape);
  if (x.ndim === 0) return x;
  const shape = [...x.shape];
  const strides = [...x.strides];
  [shape[a], shape[b]] = [shape[b], shape[a]];
  [strides[a], strides[b]] = [strides[b], strides[a]];
  return record(viewOf(x, shape, strides, x.offset), "transpose", [x], (g) => [transpose(g, a, b)]);
}

/** Reorders dims (a view). @example permute(x, [0, 2, 1, 3]) */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  if (dims.length !== x.ndim)
    throw new Error(
      `permute: got ${dims.length} dims ${shapeStr(dims)} for a tensor of shape ${shapeStr(x.shape)}`,
    );
  const norm = dims.map((d) => normDim("permute", d, x.ndim, x.shape));
  if (new Set(norm).size !== norm.length)
    throw new Error(`permute: repeated dim in ${shapeStr(dims)} for a tensor of shape ${shapeStr(x.shape)}`);
  const out = viewOf(
    x,
    norm.map((d) => x.shape[d]),
    norm.map((d) => x.strides[d]),
    x.offset,
  );
  const inverse = new Array<number>(norm.length);
  norm.forEach((d, i) => {
    inverse[d] = i;
  });
  return record(out, "permute", [x], (g) => [permute(g, inverse)]);
}

/** Broadcasts size-1 dims to larger sizes without copying (-1 keeps a size). */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  if (shape.length < x.ndim)
    throw new Error(`expand: target ${shapeStr(shape)} has fewer dims than input ${shapeStr(x.shape)}`);
  const lead = shape.length - x.ndim;
  const outShape: number[] = [];
  const strides: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    const j = i - lead;
    const src = j >= 0 ? x.shape[j] : 1;
    const want = shape[i] === -1 ? src : shape[i];
    if (j < 0 && shape[i] === -1) throw new Error(`expand: -1 is not allowed for new leading dim ${i}`);
    if (src !== want && src !== 1) {
      throw new Error(
        `expand: cannot expand shape ${shapeStr(x.shape)} to ${shapeStr(shape)} (dim ${i}: ${src} vs ${want})`,
      );
    }
    outShape.push(want);
    strides.push(j < 0 || (src === 1 && want !== 1) ? 0 : x.strides[j]);
  }
  if (sameShape(outShape, x.shape)) return x;
  const inShape = x.shape;
  return record(viewOf(x, outShape, strides, x.offset), "expand", [x], (g) => [sumTo(g, inShape)]);
}

/** Removes size-1 dims (all, or the given ones). */
export function squeeze(x: Tensor, dim?: number | number[]): Tensor {
  const dims =
    dim === undefined
      ? null
      : (Array.isArray(dim) ? dim : [dim]).map((d) => normDim("squeeze", d, x.ndim, x.shape));
  const shape = x.shape.filter((s, i) => !(s === 1 && (dims === null || dims.includes(i))));
  return reshape(x, shape);
}

/** Inserts a size-1 dim at `dim`. @example unsqueeze(x, 0) */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normDim("unsqueeze", dim, x.ndim + 1, x.shape);
  const shape = [...x.shape];
  shape.splice(d, 0, 1);
  return reshape(x, shape);
}

/** Flattens dims startDim..endDim into one. */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normDim("flatten", startDim, x.ndim, x.shape);
  const e = normDim("flatten", endDim, x.ndim, x.shape);
  if (s > e)
    throw new Error(
      `flatten: startDim ${startDim} comes after endDim ${endDim} for a tensor of shape ${shapeStr(x.shape)}`,
    );
  const shape = [...x.shape.slice(0, s), sizeOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
}

/**
 * Elements start..start+length−1 along `dim` (a view).
 * @example narrow(x, 1, 0, 2)
 */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  return slice(x, dim, start, start + length, 1, "narrow");
}

/**
 * Python-style slice start:end:step along `dim` (negative start/end count from the end; a view).
 * @example slice(x, 0, 1, -1)
 */
export function slice(x: Tensor, dim: number, start = 0, end?: number, step = 1, op = "slice"): Tensor {
  const d = normDim(op, dim, x.ndim, x.shape);
  const n = x.shape[d];
  if (!Number.isInteger(step) || step <= 0)
    throw new Error(`${op}: step must be a positive integer, got ${step}`);
  let s = start < 0 ? start + n : start;
  let e = end === undefined ? n : end < 0 ? end + n : end;
  if (op === "narrow" && (start < 0 || start > n || end! > n || end! < start)) {
    throw new Error(
      `narrow: range [${start}, ${end}) is out of bounds for dim ${dim} of size ${n} (shape ${shapeStr(x.shape)})`,
    );
  }
  s = Math.min(Math.max(s, 0), n);
  e = Math.min(Math.max(e, s), n);
  const len = Math.ceil((e - s) / step);
  const shape = [...x.shape];
  const strides = [...x.strides];
  shape[d] = len;
  strides[d] = x.strides[d] * step;
  const out = viewOf(x, shape, strides, x.offset + s * x.strides[d]);
  const inShape = x.shape;
  const inDtype = x.dtype;
  return record(out, op, [x], (g) => {
    // Scatter the gradient back into a zero tensor of the input's shape.
    const gx = empty(inShape, inDtype);
    const gStrides = [...gx.strides];
    const offset = s * gStrides[d];
    gStrides[d] *= step;
    backend().copy({
      shape: g.shape,
      src: { data: g.data, offset: g.offset, strides: g.strides },
      dst: { data: gx.data, offset, strides: gStrides },
    });
    return [gx];
  });
}

/** Picks index `i` along `dim`, removing that dim (a view). @example select(x, 0, -1) */
export function select(x: Tensor, dim: number, index: number): Tensor {
  const d = normDim("select", dim, x.ndim, x.shape);
  const n = x.shape[d];
  if (!Number.isInteger(index) || index < -n || index >= n) {
    throw new Error(
      `select: index ${index} is out of range for dim ${dim} of size ${n} (shape ${shapeStr(x.shape)})`,
    );
  }
  const i = index < 0 ? index + n : index;
  return squeeze(narrow(x, d, i, 1), d);
}

/**
 * Joins tensors along an existing dim.
 * @example cat([a, b], 0)
 */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new Error("cat: expected a non-empty list of tensors");
  const first = tensors[0];
  const d = normDim("cat", dim, first.ndim, first.shape);
  const dtype = tensors.reduce(
    (acc, t) => (t.dtype === "float64" || acc === "float64" ? "float64" : acc),
    first.dtype,
  );
  for (const t of tensors) {
    if (t.ndim !== first.ndim || t.shape.some((s, i) => i !== d && s !== first.shape[i])) {
      throw new Error(
        `cat: shapes ${tensors.map((u) => shapeStr(u.shape)).join(", ")} do not match except in dim ${d}`,
      );
    }
    if (t.dtype !== dtype && !(t.dtype === "float32" && dtype === "float64")) {
      throw new Error(`cat: mixed dtypes ${tensors.map((u) => u.dtype).join(", ")}`);
    }
  }
  const shape = [...first.shape];
  shape[d] = tensors.reduce((a, t) => a + t.shape[d], 0);
  const out = empty(shape, dtype);
  let pos = 0;
  const sizes: number[] = [];
  for (const t of tensors) {
    backend().copy({
      shape: t.shape,
      src: { data: t.data, offset: t.offset, strides: t.strides },
      dst: { data: out.data, offset: pos * out.strides[d], strides: out.strides },
    });
    pos += t.shape[d];
    sizes.push(t.shape[d]);
  }
  // Each piece of the gradient goes back in its input's dtype (float32 inputs of a float64 cat).
  return record(out, "cat", [...tensors], (g) => split(g, sizes, d).map((p, i) => to(p, tensors[i].dtype)));
}

/** Stacks equal-shaped tensors along a new dim. @example stack([a, b], 0) */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new Error("stack: expected a non-empty list of tensors");
  const first = tensors[0];
  for (const t of tensors) {
    if (!sameShape(t.shape, first.shape))
      throw new Error(
        `stack: all tensors must have the same shape, got ${tensors.map((u) => shapeStr(u.shape)).join(", ")}`,
      );
  }
  const d = normDim("stack", dim, first.ndim + 1);
  return cat(
    tensors.map((t) => unsqueeze(t, d)),
    d,
  );
}

/**
 * Splits into chunks of `size` (or the listed sizes) along `dim`; the pieces are views.
 * @example split(x, [2, 3], 1)
 */
export function split(x: Tensor, size: number | readonly number[], dim = 0): Tensor[] {
  const d = normDim("split", dim, x.ndim, x.shape);
  const n = x.shape[d];
  let sizes: number[];
  if (typeof size === "number") {
    if (!Number.isInteger(size) || size <= 0)
      throw new Error(`split: size must be a positive integer, got ${size}`);
    sizes = [];
    for (let s = 0; s < n; s += size) sizes.push(Math.min(size, n - s));
  } else {
    sizes = [...size];
    if (sizes.reduce((a, b) => a + b, 0) !== n)
      throw new Error(
        `split: sizes ${shapeStr(sizes)} do not sum to ${n} (dim ${dim} of shape ${shapeStr(x.shape)})`,
      );
  }
  let start = 0;
  return sizes.map((len) => {
    const piece = narrow(x, d, start, len);
    start += len;
    return piece;
  });
}

/** Splits into `chunks` nearly equal pieces along `dim`, like torch.chunk. */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  if (!Number.isInteger(chunks) || chunks <= 0)
    throw new Error(`chunk: chunks must be a positive integer, got ${chunks}`);
  const d = normDim("chunk", dim, x.ndim, x.shape);
  return split(x, Math.max(1, Math.ceil(x.shape[d] / chunks)), d);
}
