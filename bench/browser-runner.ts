/**
 * The page side of bench/wasm.ts: runs one configuration, answering the same messages as
 * bench/wasm-child.ts does in Node. bench/browser-worker.ts serves it from a module Web Worker
 * (qkv: a page's main thread may not block on the atomics its thread pool waits on, and the
 * playground trains in a worker too) and bench/browser-main.ts from the page itself (tfjs: its
 * Emscripten pthreads start only from a page's main thread).
 */
import * as tfEntry from "./tfjs-entry.js";
import { type QkvBackendName, useQkvBackend } from "./wasm-backends.js";
import { type BenchRunner, qkvRunner, tfjsRunner } from "./wasm-model.js";

/** A message from bench/wasm.ts (`thread` is routed by the page, not read here). */
export type Msg = {
  cmd: string;
  thread?: "main" | "worker";
  runner?: string;
  backend?: string;
  threads?: number;
  steps?: number;
  tokens?: number;
};
const scope = globalThis as unknown as { crossOriginIsolated?: boolean };
let runner: BenchRunner | null = null;

async function init(m: Msg): Promise<unknown> {
  const text = await (await fetch("/data/tinyshakespeare.txt")).text();
  const threads = m.threads ?? 1;
  let what: string;
  if (m.runner === "tfjs") {
    tfEntry.setWasmPaths("/tfjs/");
    tfEntry.setThreadsCount(threads);
    await tfEntry.tf.setBackend("wasm");
    await tfEntry.tf.ready();
    const env = tfEntry.tf.env();
    what = `tfjs ${tfEntry.tf.getBackend()} (${tfEntry.getThreadsCount()} thread(s); simd ${await env.getAsync("WASM_HAS_SIMD_SUPPORT")}, threads ${await env.getAsync("WASM_HAS_MULTITHREAD_SUPPORT")}, IS_NODE ${env.get("IS_NODE")})`;
    runner = tfjsRunner(tfEntry, text);
  } else {
    what = await useQkvBackend((m.backend ?? "wasm") as QkvBackendName, threads);
    runner = qkvRunner(text);
  }
  return { ready: true, what, paramCount: runner.paramCount, crossOriginIsolated: scope.crossOriginIsolated };
}

/** Answers one message; errors reject. */
export async function handle(m: Msg): Promise<unknown> {
  if (m.cmd === "init") return init(m);
  if (!runner) throw new Error(`"${m.cmd}" before "init"`);
  if (m.cmd === "round") {
    const ms: number[] = [];
    const losses: number[] = [];
    for (let i = 0; i < m.steps!; i++) {
      const t0 = performance.now();
      losses.push(runner.step());
      ms.push(performance.now() - t0);
    }
    return { ms, losses };
  }
  if (m.cmd === "generate") return { tps: runner.generate ? runner.generate(m.tokens!) : null };
  throw new Error(`unknown command "${m.cmd}"`);
}
