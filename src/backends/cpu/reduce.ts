/** Reference reductions over the middle axis of a contiguous (outer, n, inner) buffer. */
import type { AnyArray, ArgReduceOp, ReduceOp } from "../../backend/backend.js";

export function reduce(
  op: ReduceOp,
  x: AnyArray,
  outer: number,
  n: number,
  inner: number,
  out: AnyArray,
): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      let acc: number;
      switch (op) {
        case "sum":
          acc = 0;
          for (let k = 0; k < n; k++) acc += x[base + k * inner];
          break;
        case "prod":
          acc = 1;
          for (let k = 0; k < n; k++) acc *= x[base + k * inner];
          break;
        case "max":
          acc = Number.NEGATIVE_INFINITY;
          for (let k = 0; k < n; k++) {
            const v = x[base + k * inner];
            if (v > acc || v !== v) acc = v;
            if (acc !== acc) break; // NaN propagates, as in PyTorch
          }
          break;
        case "min":
          acc = Number.POSITIVE_INFINITY;
          for (let k = 0; k < n; k++) {
            const v = x[base + k * inner];
            if (v < acc || v !== v) acc = v;
            if (acc !== acc) break;
          }
          break;
      }
      out[o * inner + i] = acc;
    }
  }
}

export function argReduce(
  op: ArgReduceOp,
  x: AnyArray,
  outer: number,
  n: number,
  inner: number,
  out: Int32Array,
): void {
  const better = op === "argmax" ? (v: number, b: number) => v > b : (v: number, b: number) => v < b;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      let best = x[base];
      let arg = 0;
      // The first extreme wins; a NaN counts as the extreme, as in PyTorch.
      for (let k = 1; k < n && best === best; k++) {
        const v = x[base + k * inner];
        if (better(v, best) || v !== v) {
          best = v;
          arg = k;
        }
      }
      out[o * inner + i] = arg;
    }
  }
}
