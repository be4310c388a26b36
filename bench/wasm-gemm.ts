/**
 * GEMM throughput of wasm module builds on the small GPT's matrix shapes (for choosing tile sizes):
 *   node --experimental-wasm-relaxed-simd --import tsx bench/wasm-gemm.ts [file.wasm …]
 * With no files it measures the committed relaxed module. Each shape runs forward-like (N·K
 * weights, transB) and backward-like (transA) products: fastest process CPU time of 20 × 5 runs.
 */
import { readFileSync } from "node:fs";
import { loadAddon, meta as nativeMeta } from "../src/backends/native/binding.js";
import { ML } from "../src/backends/native/meta-layout.js";
import { moduleBytes, newMemory, WasmRuntime } from "../src/backends/wasm/runtime.js";
import { wasmApi } from "../src/backends/wasm/wasm-api.js";

const files = process.argv.slice(2);
// On a shared machine the median of a few runs moved by ±20-40% between invocations (another
// process on the sibling hyperthread slows this one); the fastest of many runs after warm-up is
// stable to a few percent, so the figures compare builds measured minutes apart.
const ROUNDS = 24;
const fastest = (ts: number[]) => Math.min(...ts.slice(4));
const shapes: [number, number, number, boolean, boolean][] = [
  [768, 384, 128, false, true], // qkv projection
  [768, 512, 128, false, true], // fc
  [768, 128, 512, false, true], // proj
  [128, 512, 768, true, false], // weight gradient of fc
  [768, 128, 512, false, false], // input gradient of fc
];

function bench(name: string, bytes: Uint8Array) {
  const rt = new WasmRuntime(new (wasmApi().Module)(bytes), newMemory(), "relaxed", new Float64Array(256));
  const { meta } = rt;
  const parts: string[] = [];
  let total = 0;
  for (const [M, N, K, tA, tB] of shapes) {
    const view = (n: number) => {
      const p = rt.malloc(n * 4);
      return () => new Float32Array(rt.memory.buffer, p, n);
    };
    const a = view(M * K);
    const b = view(K * N);
    const o = view(M * N);
    a().fill(0.5);
    b().fill(0.25);
    meta.fill(0);
    meta[ML.gemm.batch] = 1;
    meta[ML.gemm.M] = M;
    meta[ML.gemm.N] = N;
    meta[ML.gemm.K] = K;
    meta[ML.gemm.transA] = tA ? 1 : 0;
    meta[ML.gemm.transB] = tB ? 1 : 0;
    meta[ML.gemm.activation] = -1;
    // process CPU time, not wall time: the figure then survives a busy machine (one thread runs)
    const ts: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const c0 = process.cpuUsage();
      for (let j = 0; j < 5; j++) rt.addon.gemm(a(), b(), o());
      const c = process.cpuUsage(c0);
      ts.push((c.user + c.system) / 1000 / 5);
    }
    const best = fastest(ts);
    total += best;
    parts.push(
      `${M}x${N}x${K}${tA ? "A'" : ""}${tB ? "B'" : ""} ${((2 * M * N * K) / best / 1e6).toFixed(1)} GF/s`,
    );
  }
  console.log(`${name}: total ${total.toFixed(2)} ms | ${parts.join(" | ")}`);
}

/** The native addon on the same shapes, for scale (1 thread). */
function benchNative() {
  const na = loadAddon();
  if (!na) return;
  na.setNumThreads(1);
  const parts: string[] = [];
  let total = 0;
  for (const [M, N, K, tA, tB] of shapes) {
    const a = new Float32Array(M * K).fill(0.5);
    const b = new Float32Array(K * N).fill(0.25);
    const o = new Float32Array(M * N);
    nativeMeta.fill(0);
    nativeMeta[ML.gemm.batch] = 1;
    nativeMeta[ML.gemm.M] = M;
    nativeMeta[ML.gemm.N] = N;
    nativeMeta[ML.gemm.K] = K;
    nativeMeta[ML.gemm.transA] = tA ? 1 : 0;
    nativeMeta[ML.gemm.transB] = tB ? 1 : 0;
    nativeMeta[ML.gemm.activation] = -1;
    const ts: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const c0 = process.cpuUsage();
      for (let j = 0; j < 5; j++) na.gemm(a, b, o);
      const c = process.cpuUsage(c0);
      ts.push((c.user + c.system) / 1000 / 5);
    }
    const best = fastest(ts);
    total += best;
    parts.push(`${((2 * M * N * K) / best / 1e6).toFixed(1)} GF/s`);
  }
  console.log(`native (${na.info().isa}): total ${total.toFixed(2)} ms | ${parts.join(" | ")}`);
}

benchNative();
if (files.length === 0) bench("committed relaxed", moduleBytes("relaxed"));
for (const f of files) bench(f, readFileSync(f));
