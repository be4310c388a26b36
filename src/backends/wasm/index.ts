/**
 * The WebAssembly backend: native/'s C++ kernels compiled for wasm32 with SIMD128 (relaxed-SIMD FMA
 * when the engine has it), behind the same `Backend` contract and the same op glue as the native
 * addon (../native/addon-backend.ts). Runs in Node and in browsers; multi-threaded over shared
 * memory with a worker pool (./threads.ts).
 *
 * Loading: `loadWasmBackend()` compiles the module synchronously, which Node and workers allow; a
 * browser's main thread must `await initWasm()` first (Chrome refuses to compile large modules
 * synchronously there).
 *
 * @example
 * import { initWasm, setBackend } from "qkv";
 * await initWasm({ threads: 4 });
 * setBackend("wasm");
 */

import type { Backend } from "../../backend/backend.js";
import { setStorageHook } from "../../tensor/pool.js";
import type { AddonThresholds } from "../native/addon-backend.js";
import { createAddonBackend } from "../native/addon-backend.js";
import type { NativeAddon } from "../native/binding.js";
import { moduleBytes, newMemory, pickVariant, WasmRuntime, type WasmVariant } from "./runtime.js";

export type { WasmVariant };

import { heapStorage } from "./storage.js";
import { startWorkers, stopWorkers, threadSupport, workerCount } from "./threads.js";
import { type WasmModule, wasmApi } from "./wasm-api.js";

/**
 * Below these sizes the reference JS loops beat crossing into the module (argument descriptors and
 * any copies). Mutable so tests can force the wasm path (set them to 0).
 */
export const wasmThresholds: AddonThresholds = {
  gemm: 4096,
  elementwise: 256,
  transcendental: 64,
  copy: 256,
  rows: 256,
  reduce: 512,
  indexing: 256,
  optimizer: 256,
  attention: 256,
};

/** The op glue's numeric arguments; the runtime copies them into the module on every call. */
const meta = new Float64Array(256);

let R: WasmRuntime | null = null;
let loadError: string | null = null;
let compiled: { module: WasmModule; variant: WasmVariant } | null = null;

function isBrowserMainThread(): boolean {
  const g = globalThis as { document?: unknown; process?: { versions?: { node?: string } } };
  return typeof g.document !== "undefined" && !g.process?.versions?.node;
}

function hardwareThreads(): number {
  const g = globalThis as {
    navigator?: { hardwareConcurrency?: number };
    process?: { getBuiltinModule?: (id: string) => unknown };
  };
  const os = g.process?.getBuiltinModule?.("node:os") as { availableParallelism?: () => number } | undefined;
  const n = os?.availableParallelism?.() ?? g.navigator?.hardwareConcurrency ?? 1;
  return Math.max(1, Math.min(64, n | 0));
}

function env(name: string): string | undefined {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
}

/** The backend's runtime: tensors are allocated in its memory unless QKV_WASM_STORAGE=0 (copy mode). */
function instantiate(module: WasmModule, variant: WasmVariant): WasmRuntime {
  const rt = new WasmRuntime(module, newMemory(), variant, meta);
  rt.exports.qkv_pool_config(hardwareThreads(), -1);
  if (env("QKV_WASM_STORAGE") !== "0") setStorageHook(heapStorage(rt));
  return rt;
}

/** Compiles (synchronously) and instantiates the module; throws with the reason. */
function loadSync(): WasmRuntime {
  if (R) return R;
  wasmApi();
  if (!compiled) {
    if (isBrowserMainThread())
      throw new Error(
        "a browser's main thread cannot compile the wasm module synchronously; `await initWasm()` first",
      );
    const variant = pickVariant();
    compiled = { module: new (wasmApi().Module)(moduleBytes(variant)), variant };
  }
  R = instantiate(compiled.module, compiled.variant);
  return R;
}

function runtime(): WasmRuntime {
  if (R) return R;
  try {
    return loadSync();
  } catch (e) {
    loadError = `qkv wasm backend unavailable: ${e instanceof Error ? e.message : String(e)}`;
    throw new Error(loadError);
  }
}

function addon(): NativeAddon {
  return (R ?? runtime()).addon;
}

export const wasmBackend = createAddonBackend({
  name: "wasm",
  addon,
  meta,
  thresholds: wasmThresholds,
});

/**
 * The wasm backend if the module loads here (synchronously: Node, workers), else null with the
 * reason in {@link wasmLoadError}. Never throws. It starts on one thread, or on QKV_NUM_THREADS
 * when set; {@link setWasmThreads} changes it.
 */
export function loadWasmBackend(): Backend | null {
  try {
    const fresh = R === null;
    runtime();
    const n = Number(env("QKV_NUM_THREADS"));
    if (fresh && n > 1 && threadSupport() === null) setWasmThreads(n);
    return wasmBackend;
  } catch (e) {
    loadError = e instanceof Error ? e.message : String(e);
    return null;
  }
}

/** Why the wasm backend is unavailable, or null when it loaded (or was not tried yet). */
export function wasmLoadError(): string | null {
  return R ? null : loadError;
}

/**
 * Compiles and instantiates the wasm module asynchronously (required on a browser's main thread)
 * and starts `threads` threads (default: all cores when shared memory and workers exist, else 1).
 * Resolves to the backend; safe to call again.
 * @example
 * const be = await initWasm({ threads: 2 });
 */
export async function initWasm(opts: { threads?: number } = {}): Promise<Backend> {
  if (!R) {
    if (!compiled) {
      const variant = pickVariant();
      compiled = { module: await wasmApi().compile(moduleBytes(variant)), variant };
    }
    R = instantiate(compiled.module, compiled.variant);
  }
  await setWasmThreadsAsync(opts.threads ?? hardwareThreads());
  return wasmBackend;
}

/**
 * Sets the threads the wasm kernels use (the caller included), starting workers as needed, and
 * returns the number in effect. Synchronous, so it waits for the workers to start: in Node and in
 * workers. A browser's main thread uses {@link initWasm} instead.
 */
export function setWasmThreads(n: number): number {
  const rt = runtime();
  const want = Math.max(1, Math.min(64, Math.floor(n)));
  if (want > 1 && threadSupport() === null) startWorkers(rt, want - 1, true);
  return applyThreads(rt, want);
}

async function setWasmThreadsAsync(n: number): Promise<number> {
  const rt = runtime();
  const want = Math.max(1, Math.min(64, Math.floor(n)));
  if (want > 1 && threadSupport() === null) await startWorkers(rt, want - 1, false);
  return applyThreads(rt, want);
}

function applyThreads(rt: WasmRuntime, want: number): number {
  const have = 1 + workerCount();
  return rt.addon.setNumThreads(Math.min(want, have));
}

/** Threads the wasm kernels use now. */
export function getWasmThreads(): number {
  return R ? R.addon.info().threads : 1;
}

/** Stops the worker threads (the backend keeps working on one thread). */
export function stopWasmThreads(): void {
  if (R) {
    R.addon.setNumThreads(1);
    stopWorkers(R);
  }
}

/** What the wasm backend runs with, or null before it loads. */
export function wasmInfo(): {
  variant: WasmVariant;
  simd: boolean;
  relaxed: boolean;
  threads: number;
  sharedMemory: boolean;
  threadSupport: string | null;
  isa: string;
} | null {
  if (!R) return null;
  const info = R.addon.info();
  return {
    variant: R.variant,
    simd: true,
    relaxed: R.variant === "relaxed",
    threads: info.threads,
    sharedMemory: true,
    threadSupport: threadSupport(),
    isa: info.isa,
  };
}

/**
 * A separate instance of one module variant on its own memory (tests: both variants side by side).
 * Throws when this engine cannot run the variant.
 */
export function newWasmRuntime(variant: WasmVariant): WasmRuntime {
  return new WasmRuntime(
    new (wasmApi().Module)(moduleBytes(variant)),
    newMemory(),
    variant,
    new Float64Array(256),
  );
}

/** The loaded runtime (tests and benchmarks), or null. */
export function wasmRuntime(): WasmRuntime | null {
  return R;
}
