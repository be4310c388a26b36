/**
 * Setup file of vitest.wasm-suite.config.ts: runs the whole op-level test suite on the wasm backend
 * (QKV_FORCE_WASM=1 also routes the smallest problems to the module).
 */
import { getBackendName, setBackend } from "../../src/backend/select.js";
import {
  loadWasmBackend,
  setWasmThreads,
  wasmLoadError,
  wasmThresholds,
} from "../../src/backends/wasm/index.js";

const be = loadWasmBackend();
if (!be) throw new Error(wasmLoadError() ?? "wasm backend unavailable");
if (process.env.QKV_FORCE_WASM === "1") {
  for (const k of Object.keys(wasmThresholds) as (keyof typeof wasmThresholds)[]) wasmThresholds[k] = 0;
}
const threads = Number(process.env.QKV_WASM_THREADS ?? "1");
if (threads > 1 && setWasmThreads(threads) !== threads)
  throw new Error(`could not start ${threads} wasm threads`);
setBackend(be);
if (getBackendName() !== "wasm") throw new Error("could not select the wasm backend");
