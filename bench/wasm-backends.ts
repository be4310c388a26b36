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
  loadWasmBackend?: () => Promise<unknown>;
  initWasm?: () => Promise<unknown>;
  wasmInfo?: () => Record<string, unknown> | null;
  setNumThreads?: (n: number) => number;
  getNumThreads?: () => number;
};
const api = q as unknown as WasmApi;

/** Whether qkv has a "wasm" backend registered at all. */
export function hasWasmBackend(): boolean {
  return q.listBackends().includes("wasm");
}

/** Selects `name` at `threads` threads; throws with the reason when it cannot load. */
export async function useQkvBackend(name: QkvBackendName, threads: number): Promise<string> {
  if (name === "wasm") {
    if (!hasWasmBackend()) throw new Error("qkv has no wasm backend registered (listBackends())");
    const load = api.loadWasmBackend ?? api.initWasm;
    if (load) await load();
  }
  q.setBackend(name);
  if (name !== "cpu") {
    api.setNumThreads?.(threads);
    const got = api.getNumThreads?.();
    if (got !== undefined && got !== threads)
      throw new Error(`${name}: asked for ${threads} thread(s), the backend runs ${got}`);
  }
  const info = name === "native" ? q.nativeInfo() : name === "wasm" ? (api.wasmInfo?.() ?? null) : null;
  return `${q.getBackendName()}${info ? ` ${JSON.stringify(info)}` : ""}`;
}
