/** Helpers every op file uses: operand conversion, dense buffers, broadcast strides, result tensors. */
import type { AnyArray, DType, FloatArray, Strided } from "../backend/backend.js";
import { backend } from "../backend/select.js";
import { allocate, allocateUninit, isFloating } from "../tensor/dtype.js";
import { Tensor } from "../tensor/tensor.js";
import { shapeStr, sizeOf } from "../util/shape.js";

export { backend };

/** A tensor or a plain number (a "scalar" that adopts the other operand's dtype). */
export type TensorLike = Tensor | number;

/** Wraps a scalar as a 0-d tensor of a dtype that suits the tensor it meets. */
export function scalarFor(value: number, other: DType): Tensor {
  let dtype: DType = other;
  if (!isFloating(other) && !Number.isInteger(value)) dtype = "float32";
  else if (other === "bool") dtype = "int32";
  const arr = allocate(dtype, 1);
  arr[0] = value;
  return new Tensor(arr, []);
}

/** Converts the two operands of a binary op into tensors. */
export function operands(op: string, a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  if (a instanceof Tensor && b instanceof Tensor) return [a, b];
  if (a instanceof Tensor && typeof b === "number") return [a, scalarFor(b, a.dtype)];
  if (typeof a === "number" && b instanceof Tensor) return [scalarFor(a, b.dtype), b];
  if (typeof a === "number" && typeof b === "number")
    return [scalarFor(a, "float32"), scalarFor(b, "float32")];
  throw new Error(`${op}: expected tensors or numbers, got ${typeof a} and ${typeof b}`);
}

/** Fresh contiguous tensor of `shape`. */
export function empty(shape: readonly number[], dtype: DType): Tensor {
  return new Tensor(allocate(dtype, sizeOf(shape)), shape);
}

/** The elements of `t` as one dense row-major buffer: a zero-copy subarray when possible. */
export function dense<A extends AnyArray = AnyArray>(t: Tensor): A {
  const n = t.numel();
  if (t.isContiguous()) {
    if (t.offset === 0 && t.data.length === n) return t.data as A;
    return t.data.subarray(t.offset, t.offset + n) as A;
  }
  const out = allocateUninit(t.dtype, n);
  backend().copy({
    shape: t.shape,
    src: { data: t.data, offset: t.offset, strides: t.strides },
    dst: { data: out, offset: 0, strides: contiguous(t.shape) },
  });
  return out as A;
}

/** Dense float buffer; throws naming the op when t is not floating point. */
export function denseFloat(op: string, t: Tensor): FloatArray {
  requireFloat(op, t);
  return dense<FloatArray>(t);
}

export function requireFloat(op: string, t: Tensor): void {
  if (!isFloating(t.dtype)) {
    throw new Error(`${op}: expected a floating-point tensor, got ${t.dtype} of shape ${shapeStr(t.shape)}`);
  }
}

export function requireDtype(op: string, t: Tensor, dtype: DType, what: string): void {
  if (t.dtype !== dtype)
    throw new Error(`${op}: ${what} must be ${dtype}, got ${t.dtype} of shape ${shapeStr(t.shape)}`);
}

function contiguous(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Strided view of `t` broadcast to `shape` (stride 0 along broadcast dims). */
export function broadcastView(t: Tensor, shape: readonly number[]): Strided {
  const nd = shape.length;
  const strides = new Array<number>(nd).fill(0);
  const lead = nd - t.ndim;
  for (let i = 0; i < t.ndim; i++) strides[lead + i] = t.shape[i] === 1 ? 0 : t.strides[i];
  return { data: t.data, offset: t.offset, strides };
}

/** Wraps a result buffer as a tensor. */
export function wrap(data: AnyArray, shape: readonly number[]): Tensor {
  return new Tensor(data, shape);
}

/** Checks that an integer index tensor's values lie in [0, n); names the op (and the shapes, via `context`). */
export function checkIndices(op: string, index: Int32Array, n: number, what = "index", context = ""): void {
  for (let i = 0; i < index.length; i++) {
    const v = index[i];
    if (v < 0 || v >= n) {
      throw new Error(
        `${op}: ${what} ${v} is out of range for a dimension of size ${n}${context ? ` (${context})` : ""}`,
      );
    }
  }
}
