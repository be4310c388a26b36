/** Reference gather/scatter kernels over the middle axis of (outer, n, inner) buffers. */
import type { GatherArgs, IndexAddArgs, IndexSelectArgs, ScatterAddArgs } from "../../backend/backend.js";

export function indexSelect(args: IndexSelectArgs): void {
  const { x, outer, n, inner, index, out } = args;
  const m = index.length;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      const src = (o * n + index[j]) * inner;
      const dst = (o * m + j) * inner;
      for (let i = 0; i < inner; i++) out[dst + i] = x[src + i];
    }
  }
}

export function indexAdd(args: IndexAddArgs): void {
  const { gy, outer, n, inner, index, gx } = args;
  const m = index.length;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      const dst = (o * n + index[j]) * inner;
      const src = (o * m + j) * inner;
      for (let i = 0; i < inner; i++) gx[dst + i] += gy[src + i];
    }
  }
}

export function gather(args: GatherArgs): void {
  const { x, outer, n, inner, index, m, out } = args;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      for (let i = 0; i < inner; i++) {
        const p = (o * m + j) * inner + i;
        out[p] = x[(o * n + index[p]) * inner + i];
      }
    }
  }
}

export function scatterAdd(args: ScatterAddArgs): void {
  const { gy, outer, n, inner, index, m, gx } = args;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      for (let i = 0; i < inner; i++) {
        const p = (o * m + j) * inner + i;
        gx[(o * n + index[p]) * inner + i] += gy[p];
      }
    }
  }
}
