/** Reference gather/scatter kernels over the middle axis of (outer, n, inner) buffers. */
import type { AnyArray, FloatArray } from "../../backend/backend.js";

export function indexSelect(
  x: AnyArray,
  outer: number,
  n: number,
  inner: number,
  index: Int32Array,
  out: AnyArray,
): void {
  const m = index.length;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      const src = (o * n + index[j]) * inner;
      const dst = (o * m + j) * inner;
      for (let i = 0; i < inner; i++) out[dst + i] = x[src + i];
    }
  }
}

export function indexAdd(
  gy: FloatArray,
  outer: number,
  n: number,
  inner: number,
  index: Int32Array,
  gx: FloatArray,
): void {
  const m = index.length;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      const dst = (o * n + index[j]) * inner;
      const src = (o * m + j) * inner;
      for (let i = 0; i < inner; i++) gx[dst + i] += gy[src + i];
    }
  }
}

export function gather(
  x: AnyArray,
  outer: number,
  n: number,
  inner: number,
  index: Int32Array,
  m: number,
  out: AnyArray,
): void {
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      for (let i = 0; i < inner; i++) {
        const p = (o * m + j) * inner + i;
        out[p] = x[(o * n + index[p]) * inner + i];
      }
    }
  }
}

export function scatterAdd(
  gy: FloatArray,
  outer: number,
  n: number,
  inner: number,
  index: Int32Array,
  m: number,
  gx: FloatArray,
): void {
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      for (let i = 0; i < inner; i++) {
        const p = (o * m + j) * inner + i;
        gx[(o * n + index[p]) * inner + i] += gy[p];
      }
    }
  }
}
