/**
 * GEMM throughput of the native backend next to PyTorch, measured in the same run.
 *
 *   node --import tsx bench/gemm.ts [--threads 1,2] [--trials 7] [--quick] [--shapes gpt2|decode] [--only NAME-PART]
 *
 * Shapes: the small GPT matmuls (768 tokens × 128/512 features) in their forward form A·B and both
 * gradient forms (Aᵀ·B with K = 768, A·Bᵀ), plus 512³ and 1024³, at 1 and 2 threads; with
 * `--shapes gpt2`, GPT-2 small's Linear products at B=4, T=128 (forward and both gradients). PyTorch runs as
 * a line-oriented subprocess (bench/gemm_torch.py with /usr/bin/python3, or $QKV_BENCH_PYTHON) and
 * the two libraries are timed alternately, trial by trial; each figure is the best trial, so a
 * briefly busy machine does not favour either side. The torch column reads n/a when torch cannot be
 * imported.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import {
  loadNativeBackend,
  nativeInfo,
  nativeLoadError,
  setNumThreads,
} from "../src/backends/native/index.js";
import { type GemmShape, makeNativeGemmTrial } from "./shared.js";

interface Shape extends GemmShape {
  name: string;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const quick = process.argv.includes("--quick");
const threads = arg("threads", "1,2").split(",").map(Number);
const trials = Number(arg("trials", quick ? "3" : "7"));
const minTime = quick ? 0.015 : 0.04;

const shapes: Shape[] = [];
if (arg("shapes", "small") === "gpt2") {
  // GPT-2 small (124M) at B=4, T=128: M = 512 tokens; each Linear weight is stored (out × in) as in
  // torch, so the forward is X·Wᵀ, the input gradient dY·W and the weight gradient dYᵀ·X.
  const M = 512;
  for (const [out, inp] of [
    [2304, 768],
    [768, 768],
    [3072, 768],
    [768, 3072],
    [50257, 768],
  ]) {
    shapes.push({ name: `fwd X·Wᵀ ${out}×${inp}`, M, N: out, K: inp, transA: false, transB: true });
    shapes.push({ name: `dX dY·W ${out}×${inp}`, M, N: inp, K: out, transA: false, transB: false });
    shapes.push({ name: `dW dYᵀ·X ${out}×${inp}`, M: out, N: inp, K: M, transA: true, transB: false });
  }
} else if (arg("shapes", "small") === "decode") {
  // One token of GPT-2 small's greedy decoding: M = 1, each weight read once per token. The block
  // weights are in the checkpoint's Conv1D layout (in × out, so X·W), the tied LM head (50257 × 768)
  // is X·Eᵀ; 12 copies of each (one per layer, 2 of the head) cycle so they come from memory.
  for (const [inp, out] of [
    [768, 2304],
    [768, 768],
    [768, 3072],
    [3072, 768],
  ])
    shapes.push({
      name: `decode x·W ${inp}×${out}`,
      M: 1,
      N: out,
      K: inp,
      transA: false,
      transB: false,
      copies: 12,
    });
  shapes.push({
    name: "decode x·Eᵀ 50257×768",
    M: 1,
    N: 50257,
    K: 768,
    transA: false,
    transB: true,
    copies: 2,
  });
} else
  for (const [K, N] of [
    [128, 384],
    [128, 128],
    [128, 512],
    [512, 128],
    [128, 65],
  ]) {
    const M = 768;
    shapes.push({ name: `(${M}×${K})·(${K}×${N})`, M, N, K, transA: false, transB: false });
    // dB = Aᵀ·dC: (K×768)·(768×N), A stored 768×K
    shapes.push({ name: `(${K}×${M})ᵀ·(${M}×${N})`, M: K, N, K: M, transA: true, transB: false });
    // dA = dC·Bᵀ: (768×N)·(N×K), B stored K×N
    shapes.push({ name: `(${M}×${N})·(${K}×${N})ᵀ`, M, N: K, K: N, transA: false, transB: true });
  }
for (const n of [512, 1024]) shapes.push({ name: `${n}³`, M: n, N: n, K: n, transA: false, transB: false });
// --only SUBSTRING keeps the shapes whose name contains it (e.g. "dW").
const only = arg("only", "");
if (only) shapes.splice(0, shapes.length, ...shapes.filter((s) => s.name.includes(only)));

/** The torch subprocess: ask(shape, threads) runs one trial there and resolves to GFLOP/s. */
async function startTorch(): Promise<
  { version: string; ask(s: Shape, threads: number): Promise<number>; close(): void } | string
> {
  const here = dirname(fileURLToPath(import.meta.url));
  const py = process.env.QKV_BENCH_PYTHON ?? "/usr/bin/python3";
  if (!existsSync(py)) return `${py} not found`;
  const child = spawn(py, [join(here, "gemm_torch.py")], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown> | string> => {
    const r = await lines.next();
    if (r.done) return (stderr.trim().split("\n").pop() ?? "") || "torch process exited";
    try {
      return JSON.parse(r.value) as Record<string, unknown>;
    } catch {
      return `unparseable output: ${r.value.slice(0, 80)}`;
    }
  };
  const hello = await next();
  if (typeof hello === "string") return hello;
  if (typeof hello.error === "string") return hello.error;
  return {
    version: String(hello.torch),
    async ask(s: Shape, threads: number): Promise<number> {
      const { M, N, K, transA, transB, copies } = s;
      child.stdin.write(`${JSON.stringify({ M, N, K, transA, transB, threads, minTime, copies })}\n`);
      const r = await next();
      return typeof r === "string" ? Number.NaN : Number(r.gflops);
    },
    close: () => child.stdin.end(),
  };
}

if (!loadNativeBackend()) {
  console.error(nativeLoadError());
  process.exit(1);
}
const info = nativeInfo();
const torch = await startTorch();
console.log(
  `qkv native GEMM (${info?.isa}, ${info?.hwThreads} hardware threads), float32, best of ${trials} alternating trials`,
);
console.log(
  typeof torch === "string" ? `torch: n/a (${torch})` : `torch ${torch.version} via bench/gemm_torch.py`,
);
console.log("");
const res: { q: number; t: number }[][] = [];
for (const nt of threads) {
  setNumThreads(nt);
  const row: { q: number; t: number }[] = [];
  for (const s of shapes) {
    const trial = makeNativeGemmTrial(s, minTime);
    let q = 0;
    let t = typeof torch === "string" ? Number.NaN : 0;
    for (let i = 0; i < trials; i++) {
      q = Math.max(q, trial());
      if (typeof torch !== "string") t = Math.max(t, await torch.ask(s, nt));
    }
    row.push({ q, t });
  }
  res.push(row);
}
setNumThreads(info?.hwThreads ?? 1);
if (typeof torch !== "string") torch.close();

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "n/a");
const header = ["shape", "M", "N", "K", "op", "thr", "qkv GF/s", "torch GF/s", "qkv/torch"];
const rows: string[][] = [];
threads.forEach((nt, ti) => {
  shapes.forEach((s, i) => {
    const { q, t } = res[ti][i];
    const op = s.transA ? "AᵀB" : s.transB ? "ABᵀ" : "AB";
    rows.push([
      s.name,
      String(s.M),
      String(s.N),
      String(s.K),
      op,
      String(nt),
      fmt(q),
      fmt(t),
      t > 0 ? `${(q / t).toFixed(2)}×` : "n/a",
    ]);
  });
});
const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
const line = (r: string[]) =>
  r.map((x, c) => (c === 0 ? x.padEnd(widths[c]) : x.padStart(widths[c]))).join("  ");
console.log(line(header));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const r of rows) console.log(line(r));
