/** Reference batched matrix product: plain loops, accumulating each output row in float64. */
import type { GemmArgs } from "../../backend/backend.js";
import { unary } from "./elementwise.js";

export function gemm(args: GemmArgs): void {
  const { batch, M, N, K, a, b, out, transA, transB, accumulate, bias } = args;
  if (args.activation && accumulate) throw new Error("gemm: an activation epilogue cannot accumulate");
  // Element (i, k) of op(A) sits at i·ai + k·ak; element (k, j) of op(B) at k·bk + j·bj.
  const ai = transA ? 1 : K;
  const ak = transA ? M : 1;
  const bk = transB ? 1 : N;
  const bj = transB ? K : 1;
  const acc = new Float64Array(N);
  for (let p = 0; p < batch; p++) {
    const aBase = args.aOffset + p * args.aBatchStride;
    const bBase = args.bOffset + p * args.bBatchStride;
    const oBase = p * M * N;
    for (let i = 0; i < M; i++) {
      if (transB) {
        // Rows of B are contiguous: each output is a dot product.
        for (let j = 0; j < N; j++) {
          let s = 0;
          const bRow = bBase + j * K;
          for (let k = 0; k < K; k++) s += a[aBase + i * ai + k * ak] * b[bRow + k];
          acc[j] = s;
        }
      } else {
        acc.fill(0);
        for (let k = 0; k < K; k++) {
          const aik = a[aBase + i * ai + k * ak];
          const bRow = bBase + k * bk;
          for (let j = 0; j < N; j++) acc[j] += aik * b[bRow + j * bj];
        }
      }
      const o = oBase + i * N;
      for (let j = 0; j < N; j++) {
        const v = acc[j] + (bias ? bias[j] : 0);
        out[o + j] = accumulate ? out[o + j] + v : v;
      }
    }
  }
  if (args.activation) {
    // The epilogue: z (after the bias) goes to preact, f(z) to out.
    const n = batch * M * N;
    if (args.preact) args.preact.set(out.subarray(0, n));
    const z = out.subarray(0, n);
    unary({ op: args.activation, x: z, out: z });
  }
}
