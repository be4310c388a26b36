/**
 * Pieces the benchmark scripts share: PyTorch's twin as a subprocess, greedy KV-cache decoding,
 * and a timed native GEMM trial (bench/gemm.ts; bench/scale.ts's machine peak).
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { GemmArgs } from "../src/backend/backend.js";
import { nativeBackend } from "../src/backends/native/index.js";
import { type GPT, KVCache, tensor, withNoGrad } from "../src/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const python = process.env.QKV_BENCH_PYTHON ?? "/usr/bin/python3";

/** Runs bench/torch_gpt.py with `args` and returns its last JSON line, or null without torch. */
export function torchTwin(args: string[]): Record<string, number> | null {
  const r = spawnSync(python, [join(root, "bench/torch_gpt.py"), ...args], {
    encoding: "utf8",
    timeout: 600_000,
  });
  if (r.status !== 0) return null;
  try {
    return JSON.parse(r.stdout.trim().split("\n").pop()!);
  } catch {
    return null;
  }
}

/** Greedy batch-1 decoding of `newTokens` tokens from token 0 with a KV cache: tokens/s and the ids. */
export function greedyDecode(model: GPT, newTokens: number): { tps: number; ids: number[] } {
  return withNoGrad(() => {
    const cache = new KVCache(model.config.nLayer);
    const ids: number[] = [];
    let id = 0;
    const t0 = performance.now();
    for (let t = 0; t < newTokens; t++) {
      const { logits } = model.forward(tensor(Int32Array.of(id), { shape: [1, 1] }), null, {
        cache,
        lastOnly: true,
      });
      const row = logits.toArray();
      let best = 0;
      for (let j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
      id = best;
      ids.push(id);
    }
    return { tps: newTokens / ((performance.now() - t0) / 1000), ids };
  });
}

/** A GEMM problem: (M×K)·(K×N), either operand stored transposed. */
export interface GemmShape {
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  /**
   * How many distinct B operands the trial cycles through (default 1). Decoding reads every weight
   * once per token from memory; with enough copies to exceed the last-level cache, so does the trial.
   */
  copies?: number;
}

/** Deterministic fill (no Math.random). */
export function filled(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 4294967296 - 0.5;
  }
  return a;
}

/**
 * One timed trial of the native gemm lasting about `minTime` seconds (the repetition count is
 * found once, here); each call of the returned function runs a trial and returns GFLOP/s.
 */
export function makeNativeGemmTrial(s: GemmShape, minTime: number): () => number {
  const bs = Array.from({ length: Math.max(1, s.copies ?? 1) }, (_, i) => filled(s.K * s.N, 2 + i));
  let next = 0;
  const args: GemmArgs = {
    batch: 1,
    M: s.M,
    N: s.N,
    K: s.K,
    a: filled(s.M * s.K, 1),
    aOffset: 0,
    aBatchStride: 0,
    transA: s.transA,
    b: bs[0],
    bOffset: 0,
    bBatchStride: 0,
    transB: s.transB,
    out: new Float32Array(s.M * s.N),
    accumulate: false,
  };
  const flop = 2 * s.M * s.N * s.K;
  const run = () => {
    args.b = bs[next];
    next = (next + 1) % bs.length;
    nativeBackend.gemm(args);
  };
  for (let i = 0; i < 2 * bs.length; i++) run();
  let reps = 1;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < reps; i++) run();
    if ((performance.now() - t) / 1000 >= minTime || reps >= 1 << 20) break;
    reps *= 2;
  }
  return () => {
    const t = performance.now();
    for (let i = 0; i < reps; i++) run();
    return (flop * reps) / ((performance.now() - t) / 1000) / 1e9;
  };
}
