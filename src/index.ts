/**
 * qkv: transformers in TypeScript. This is the one public entry point:
 * `import { tensor, nn, optim } from "qkv"`.
 */
import "./ops/methods.js";

export { isGradEnabled, noGrad, setGradEnabled, tidy, withNoGrad } from "./autograd/graph.js";
export type { Backend, DType } from "./backend/backend.js";
export {
  backend,
  cpuBackend,
  getBackendName,
  listBackends,
  registerBackend,
  setBackend,
} from "./backends/index.js";
export * from "./data/index.js";
export * from "./generate/index.js";
export * from "./io/index.js";
export * from "./models/index.js";
export * as nn from "./nn/index.js";
export { KVCache, type KVCacheOptions, type LayerKV } from "./nn/kv-cache.js";
export { Module, Parameter } from "./nn/module.js";
export * from "./ops/index.js";
export * as optim from "./optim/index.js";
export * from "./tensor/create.js";
export { memoryPool } from "./tensor/pool.js";
export { type NestedArray, Tensor } from "./tensor/tensor.js";
export * from "./tokenizers/index.js";
export * from "./train/index.js";
export {
  defaultGenerator,
  Generator,
  type GeneratorOptions,
  type GeneratorState,
  type Mt19937State,
  manualSeed,
  type RngAlgorithm,
  type XoshiroState,
} from "./util/rng.js";
export * from "./viz/index.js";

import { registerBackend as register, setBackend as select } from "./backends/index.js";
import { loadNativeBackend, nativeLoadError } from "./backends/native/index.js";

export {
  getNumThreads,
  loadNativeBackend,
  nativeInfo,
  nativeLoadError,
  setNumThreads,
} from "./backends/native/index.js";

// `setBackend("native")` loads the addon on demand (Node only; elsewhere it reports unavailable).
register("native", loadNativeBackend);
// QKV_BACKEND=native|cpu chooses the backend for the whole process; the library default is cpu.
const wanted = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
  ?.QKV_BACKEND;
if (wanted === "native") {
  if (loadNativeBackend()) select("native");
  else
    console.warn(
      `qkv: QKV_BACKEND=native but the native backend is unavailable (${nativeLoadError()}); using cpu`,
    );
} else if (wanted === "cpu") select("cpu");
