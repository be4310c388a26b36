/** Walks the elements of a broadcast, strided N-d iteration space (shared by the cpu kernels). */
import type { Strided } from "../../backend/backend.js";

/**
 * Calls `body(i, pa, pb)` for output element i (row-major) with the storage positions of two
 * strided operands. The innermost dim runs as a tight loop in the caller's body via `inner`.
 */
export function forEach2(
  shape: readonly number[],
  a: Strided,
  b: Strided,
  inner: (i: number, pa: number, sa: number, pb: number, sb: number, n: number) => void,
): void {
  const nd = shape.length;
  if (nd === 0) {
    inner(0, a.offset, 0, b.offset, 0, 1);
    return;
  }
  let total = 1;
  for (const d of shape) total *= d;
  if (total === 0) return;
  const n = shape[nd - 1];
  const sa = a.strides[nd - 1];
  const sb = b.strides[nd - 1];
  const idx = new Array<number>(nd - 1).fill(0);
  let pa = a.offset;
  let pb = b.offset;
  for (let i = 0; i < total; i += n) {
    inner(i, pa, sa, pb, sb, n);
    for (let d = nd - 2; d >= 0; d--) {
      idx[d]++;
      pa += a.strides[d];
      pb += b.strides[d];
      if (idx[d] < shape[d]) break;
      pa -= idx[d] * a.strides[d];
      pb -= idx[d] * b.strides[d];
      idx[d] = 0;
    }
  }
}

/** Storage positions of every element of a strided view, in row-major order. */
export function positions(
  shape: readonly number[],
  v: { offset: number; strides: readonly number[] },
): Int32Array | Float64Array {
  let total = 1;
  for (const d of shape) total *= d;
  const out = total < 2 ** 31 ? new Int32Array(total) : new Float64Array(total);
  const nd = shape.length;
  if (total === 0) return out;
  const idx = new Array<number>(nd).fill(0);
  let p = v.offset;
  for (let i = 0; i < total; i++) {
    out[i] = p;
    for (let d = nd - 1; d >= 0; d--) {
      idx[d]++;
      p += v.strides[d];
      if (idx[d] < shape[d]) break;
      p -= idx[d] * v.strides[d];
      idx[d] = 0;
    }
  }
  return out;
}
