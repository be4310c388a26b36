/**
 * Reference GPT block step with a key/value cache (inference), composed from the reference
 * kernels in the order the op path runs them: layer norm, the packed q/k/v projection, the cache
 * write, causal attention over the cache, the output projection, then the GELU (tanh) MLP.
 * A faster backend can run the same composition over its own kernels (see {@link composeDecodeBlock}).
 */
import type { Backend, DecodeBlockArgs, FloatArray } from "../../backend/backend.js";
import { attentionForward } from "./attention.js";
import { unary } from "./elementwise.js";
import { gemm } from "./gemm.js";
import { layerNormForward } from "./nn.js";

/** The kernels the composed block step needs. */
type DecodeKernels = Pick<Backend, "gemm" | "layerNormForward" | "attentionForward" | "unary">;

/** out (rows, N) (+)= a (rows, K) · wᵀ + bias, with w (N, K) as a Linear layer stores it. */
function linear(
  gemm: DecodeKernels["gemm"],
  a: FloatArray,
  rows: number,
  K: number,
  w: FloatArray,
  N: number,
  bias: FloatArray | null,
  out: FloatArray,
  accumulate: boolean,
): void {
  gemm({
    batch: 1,
    M: rows,
    N,
    K,
    a,
    aOffset: 0,
    aBatchStride: 0,
    transA: false,
    b: w,
    bOffset: 0,
    bBatchStride: 0,
    transB: true,
    out,
    accumulate,
    bias,
  });
}

/**
 * decodeBlockForward written with a backend's own kernels: the reference, and the fallback of a
 * fast backend where its fused kernel does not apply (e.g. float64).
 * @example composeDecodeBlock(nativeBackend, args, out)
 */
export function composeDecodeBlock(be: DecodeKernels, args: DecodeBlockArgs, out: FloatArray): void {
  const { B, T, C, H, past, cap, eps, x, k, v } = args;
  const { gemm, layerNormForward, attentionForward, unary } = be;
  const hs = C / H;
  const rows = B * T;
  const S = past + T;
  const make = (n: number) => new (x.constructor as new (n: number) => FloatArray)(n);
  const h = make(rows * C);
  const stats = [make(rows), make(rows)];

  // 1. h = ln_1(x); qkv = h · W_attnᵀ + b (rows, 3C)
  layerNormForward({
    x,
    weight: args.ln1W,
    bias: args.ln1B,
    rows,
    n: C,
    eps,
    out: h,
    mean: stats[0],
    rstd: stats[1],
  });
  const qkv = make(rows * 3 * C);
  linear(gemm, h, rows, C, args.attnW, 3 * C, args.attnB, qkv, false);

  // 2. Write the new keys and values into the cache rows past … past + T − 1.
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const src = (b * T + t) * 3 * C;
      for (let hd = 0; hd < H; hd++) {
        const dst = ((b * H + hd) * cap + past + t) * hs;
        for (let d = 0; d < hs; d++) {
          k[dst + d] = qkv[src + C + hd * hs + d];
          v[dst + d] = qkv[src + 2 * C + hd * hs + d];
        }
      }
    }
  }

  // 3. Causal attention of each head's T queries over its S cached keys (bottom-right aligned).
  const q = make(T * hs);
  const y = make(T * hs);
  const lse = make(T);
  const att = make(rows * C); // (B, T, C), heads merged
  for (let b = 0; b < B; b++) {
    for (let hd = 0; hd < H; hd++) {
      for (let t = 0; t < T; t++)
        for (let d = 0; d < hs; d++) q[t * hs + d] = qkv[(b * T + t) * 3 * C + hd * hs + d];
      const base = (b * H + hd) * cap * hs;
      const kv = (a: FloatArray) => a.subarray(base, base + S * hs);
      attentionForward({
        B: 1,
        H: 1,
        T,
        S,
        D: hs,
        Dv: hs,
        q,
        k: kv(k),
        v: kv(v),
        scale: 1 / Math.sqrt(hs),
        isCausal: true,
        mask: null,
        out: y,
        lse,
      });
      for (let t = 0; t < T; t++)
        for (let d = 0; d < hs; d++) att[(b * T + t) * C + hd * hs + d] = y[t * hs + d];
    }
  }

  // 4. out = x + att · W_projᵀ + b
  out.set(x.subarray(0, rows * C));
  linear(gemm, att, rows, C, args.projW, C, args.projB, out, true);

  // 5. out += gelu_tanh(ln_2(out) · W_fcᵀ + b) · W_mlpᵀ + b
  layerNormForward({
    x: out,
    weight: args.ln2W,
    bias: args.ln2B,
    rows,
    n: C,
    eps,
    out: h,
    mean: stats[0],
    rstd: stats[1],
  });
  const fc = make(rows * 4 * C);
  linear(gemm, h, rows, C, args.fcW, 4 * C, args.fcB, fc, false);
  unary({ op: "geluTanh", x: fc, out: fc });
  linear(gemm, fc, rows, 4 * C, args.mlpW, C, args.mlpB, out, true);
}

export function decodeBlockForward(args: DecodeBlockArgs, out: FloatArray): void {
  composeDecodeBlock({ gemm, layerNormForward, attentionForward, unary }, args, out);
}
