/** Reference reductions over the middle axis of a contiguous (outer, n, inner) buffer. */
import type { ArgReduceArgs, ReduceArgs } from "../../backend/backend.js";

export function reduce(args: ReduceArgs): void {
  const { op, x, outer, n, inner, out } = args;
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

export function argReduce(args: ArgReduceArgs): void {
  const { op, x, outer, n, inner, out } = args;
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
