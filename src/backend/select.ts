/**
 * Backend selection: which implementation of the kernel contract (./backend.ts) the ops dispatch
 * to. The built-in backends are listed here as loaders and nothing runs at import: the native addon
 * loads on `setBackend("native")`, and QKV_BACKEND is read on the first kernel call that finds no
 * backend selected. This module sits above backends/ (it names them); backends/ never import it.
 */
import { cpuBackend } from "../backends/cpu/index.js";
import { loadNativeBackend, nativeLoadError } from "../backends/native/index.js";
import { loadWasmBackend } from "../backends/wasm/index.js";
import type { Backend } from "./backend.js";

export { cpuBackend };

/** Loaders by name; a loader returns null when its backend cannot run here. */
const registry = new Map<string, () => Backend | null>([
  ["cpu", () => cpuBackend],
  // Node only: elsewhere (or without a built addon) it reports itself unavailable.
  ["native", loadNativeBackend],
  // Synchronous load: Node and workers; a browser's main thread awaits initWasm() first.
  ["wasm", loadWasmBackend],
]);
/** null until `setBackend` runs or the first kernel call consults QKV_BACKEND. */
let current: Backend | null = null;

/**
 * The backend chosen by QKV_BACKEND=native|cpu; any other value, or none, keeps the cpu default.
 * A wanted native backend that cannot load is said once, on the console, and cpu is used.
 */
function fromEnvironment(): Backend {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const wanted = env?.QKV_BACKEND;
  let chosen: Backend = cpuBackend;
  if (wanted === "native") {
    const native = loadNativeBackend();
    if (native) chosen = native;
    else
      console.warn(
        `qkv: QKV_BACKEND=native but the native backend is unavailable (${nativeLoadError()}); using cpu`,
      );
  }
  current = chosen;
  return chosen;
}

/**
 * The backend the ops currently dispatch to. The first call without a prior `setBackend` picks it
 * from QKV_BACKEND (default cpu).
 * @example
 * backend().name; // "cpu"
 */
export function backend(): Backend {
  return current ?? fromEnvironment();
}

/**
 * Makes another backend loadable by name (`setBackend(name)`), e.g. a WebAssembly build.
 * The loader returns null when the backend cannot run here.
 * @example
 * registerBackend("mine", () => myBackend);
 */
export function registerBackend(name: string, load: () => Backend | null): void {
  registry.set(name, load);
}

/**
 * Names of registered backends (whether or not they can load here).
 * @example
 * listBackends(); // ["cpu", "native"]
 */
export function listBackends(): string[] {
  return [...registry.keys()];
}

/**
 * Selects the backend by name or object; an explicit choice overrides QKV_BACKEND.
 * @example
 * setBackend("cpu");
 */
export function setBackend(b: string | Backend): Backend {
  if (typeof b !== "string") {
    current = b;
    return b;
  }
  const load = registry.get(b);
  if (!load) throw new Error(`setBackend: unknown backend "${b}"; available: ${listBackends().join(", ")}`);
  const loaded = load();
  if (!loaded) throw new Error(`setBackend: backend "${b}" is not available on this machine`);
  current = loaded;
  return loaded;
}

/**
 * Name of the current backend (selecting the default first, as `backend()` does).
 * @example
 * getBackendName(); // "cpu"
 */
export function getBackendName(): string {
  return backend().name;
}
