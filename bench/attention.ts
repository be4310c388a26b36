/**
 * Per-call times of the native fused attention kernels at the small GPT's shapes (B=12, H=4,
 * T=S=64, D=32, causal) and at batch-1 decode shapes (T=1, S=64…512), 1 and 2 threads.
 * Run: node --import tsx bench/attention.ts
 */
import type { AttentionArgs } from "../src/backend/backend.js";
import { loadNativeBackend, nativeInfo, setNumThreads } from "../src/backends/native/index.js";

const be = loadNativeBackend();
if (!be) throw new Error("native addon not built (node scripts/build-native.mjs)");

function rand(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
  return a;
}

/** Minimum over `reps` rounds of the mean time of `inner` calls, in ms (wall, and process CPU time). */
function time(fn: () => void, reps = 15, inner = 20): { wall: number; cpu: number } {
  for (let i = 0; i < inner; i++) fn();
  let wall = Number.POSITIVE_INFINITY;
  let cpu = Number.POSITIVE_INFINITY;
  for (let r = 0; r < reps; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < inner; i++) fn();
    wall = Math.min(wall, (performance.now() - t0) / inner);
    const c = process.cpuUsage(c0);
    cpu = Math.min(cpu, (c.user + c.system) / 1000 / inner);
  }
  return { wall, cpu };
}

const us = (t: { wall: number; cpu: number }) =>
  `${(t.wall * 1000).toFixed(1).padStart(7)} µs (cpu ${(t.cpu * 1000).toFixed(1).padStart(7)})`;

function bench(
  label: string,
  B: number,
  H: number,
  T: number,
  S: number,
  D: number,
  packed: boolean,
): string {
  const C = H * D;
  let args: AttentionArgs;
  let out: Float32Array;
  let gq: Float32Array;
  let gk: Float32Array;
  let gv: Float32Array;
  if (packed) {
    // q, k, v read from one (B, T, 3C) buffer, out written as (B, T, C) (T = S here).
    const qkv = rand(B * T * 3 * C, 1);
    const head = (o: number) => ({ offset: o, batch: T * 3 * C, head: D, row: 3 * C });
    args = {
      B,
      H,
      T,
      S,
      D,
      Dv: D,
      q: qkv,
      k: qkv,
      v: qkv,
      scale: 1 / Math.sqrt(D),
      isCausal: true,
      mask: null,
      layout: { q: head(0), k: head(C), v: head(2 * C), out: { offset: 0, batch: T * C, head: D, row: C } },
    };
    out = new Float32Array(B * T * C);
    gq = gk = gv = new Float32Array(qkv.length);
  } else {
    args = {
      B,
      H,
      T,
      S,
      D,
      Dv: D,
      q: rand(B * H * T * D, 1),
      k: rand(B * H * S * D, 2),
      v: rand(B * H * S * D, 3),
      scale: 1 / Math.sqrt(D),
      isCausal: true,
      mask: null,
    };
    out = new Float32Array(B * H * T * D);
    gq = new Float32Array(B * H * T * D);
    gk = new Float32Array(B * H * S * D);
    gv = new Float32Array(B * H * S * D);
  }
  const lse = new Float32Array(B * H * T);
  const gOut = rand(out.length, 4);
  const f = time(() => be!.attentionForward({ ...args, out, lse }));
  const b = time(() => be!.attentionBackward({ ...args, out, lse, gOut, gq, gk, gv }));
  return `${label.padEnd(34)} fwd ${us(f)}   bwd ${us(b)}`;
}

console.log(`isa ${nativeInfo()?.isa}`);
for (const threads of [1, 2]) {
  setNumThreads(threads);
  console.log(`-- ${threads} thread(s)`);
  console.log(bench("train B12 H4 T=S=64 D32 causal", 12, 4, 64, 64, 32, false));
  if (process.argv.includes("--packed"))
    console.log(bench("  packed (B,T,3C) → (B,T,C)", 12, 4, 64, 64, 32, true));
  for (const S of [64, 256, 512]) console.log(bench(`decode B1 H4 T=1 S=${S} D32`, 1, 4, 1, S, 32, false));
  console.log(bench("prefill B1 H4 T=S=256 D32 causal", 1, 4, 256, 256, 32, false));
}
