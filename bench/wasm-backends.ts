/**
 * Selects the qkv backend a benchmark runs on, with its thread count, in Node or in a worker.
 * Browser-safe (the wasm backend's async loader compiles the module off the main thread's
 * synchronous path). Returns a line describing what runs, for the report.
 */
import * as q from "../src/index.js";

/** The backends bench/wasm.ts compares. */
export type QkvBackendName = "native" | "wasm" | "cpu";

// The wasm backend's exports, looked up by name: the harness builds before and after it lands.
type WasmApi = {
  initWasm?: (opts?: { threads?: number }) => Promise<unknown>;
  wasmInfo?: () => Record<string, unknown> | null;
  setWasmThreads?: (n: number) => number;
  getWasmThreads?: () => number;
};
const wasm = q as unknown as WasmApi;

/** Whether qkv has a "wasm" backend registered at all. */
export function hasWasmBackend(): boolean {
  return q.listBackends().includes("wasm");
}

/** Selects `name` at `threads` threads; throws with the reason when it cannot load or thread. */
export async function useQkvBackend(name: QkvBackendName, threads: number): Promise<string> {
  let got: number | undefined;
  if (name === "wasm") {
    if (!hasWasmBackend()) throw new Error("qkv has no wasm backend registered (listBackends())");
    // The async loader compiles the module and starts the workers (a page's main thread needs it).
    await wasm.initWasm?.({ threads });
    q.setBackend("wasm");
    got = wasm.setWasmThreads?.(threads) ?? wasm.getWasmThreads?.();
  } else {
    q.setBackend(name);
    if (name === "native") got = q.setNumThreads(threads);
  }
  if (got !== undefined && got !== threads)
    throw new Error(`${name}: asked for ${threads} thread(s), the backend runs ${got}`);
  const info = name === "native" ? q.nativeInfo() : name === "wasm" ? (wasm.wasmInfo?.() ?? null) : null;
  return `${q.getBackendName()}${info ? ` ${JSON.stringify(info)}` : ""}`;
}
