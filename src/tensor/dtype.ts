/**
 * dtypes and their storage; promotion follows PyTorch's rules for the dtypes qkv has. The tensor
 * layer owns these types: the kernel contract (backend/) and everything above import them from here.
 */

/** Element storage of a tensor. `bool` is stored as bytes holding 0 or 1. */
export type DType = "float32" | "float64" | "int32" | "bool";
/** The floating-point dtypes: what parameters, activations and masks are made of. */
export type FloatDType = "float32" | "float64";
/** Storage of a floating-point tensor. */
export type FloatArray = Float32Array | Float64Array;
/** Storage of a tensor of any dtype. */
export type AnyArray = Float32Array | Float64Array | Int32Array | Uint8Array;

export { allocate, allocateUninit } from "./pool.js";

export function dtypeOf(data: AnyArray): DType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof Int32Array) return "int32";
  return "bool";
}

export function isFloating(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64";
}

const rank: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 };

/** Result dtype of a binary op between two tensors. */
export function promote(a: DType, b: DType): DType {
  return rank[a] >= rank[b] ? a : b;
}

const category: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 2 };

/**
 * Result dtype of an op between two tensors with PyTorch's priority rule: a 0-d tensor does not
 * widen a dimensioned tensor of the same or a higher category (float32 [n] + float64 [] is float32).
 */
export function resultType(a: { dtype: DType; ndim: number }, b: { dtype: DType; ndim: number }): DType {
  if (a.ndim > 0 && b.ndim === 0 && category[b.dtype] <= category[a.dtype]) return a.dtype;
  if (b.ndim > 0 && a.ndim === 0 && category[a.dtype] <= category[b.dtype]) return b.dtype;
  return promote(a.dtype, b.dtype);
}
