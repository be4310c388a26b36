/**
 * Backend selection: which implementation of the kernel contract (./backend.ts) the ops dispatch
 * to. Unless told otherwise the library takes the fastest backend that loads here, in the order
 * native → wasm → cpu. Nothing runs at import: QKV_BACKEND is read and the backends are tried on the
 * first kernel call that finds none selected (or on `setBackend` / `await ready()`). This module sits
 * above backends/ (it names them); backends/ never import it.
 */
import { cpuBackend } from "../backends/cpu/index.js";
import { loadNativeBackend, nativeLoadError } from "../backends/native/index.js";
import { initWasm, loadWasmBackend, wasmLoadError } from "../backends/wasm/index.js";
import { QkvError } from "../util/errors.js";
import type { Backend } from "./backend.js";

export { cpuBackend };

/** Loaders by name; a loader returns null (or throws, saying why) when its backend cannot run here. */
const registry = new Map<string, () => Backend | null>([
  ["cpu", () => cpuBackend],
  // Node only: elsewhere (or without a built addon) it reports itself unavailable.
  ["native", loadNativeBackend],
  // Synchronous load: Node and workers; a browser's main thread awaits initWasm() first.
  ["wasm", loadWasmBackend],
]);

/** What a backend may add to its loader: why it did not load, and an asynchronous preparation. */
export interface BackendLoaderOptions {
  /** Why the last load returned null (shown by `backendInfo()` and `qkv info`). */
  whyNot?: () => string | null;
  /**
   * Asynchronous preparation that lets the synchronous loader succeed where it cannot by itself,
   * e.g. compiling a WebAssembly module on a browser main thread. Awaited by `ready()`.
   */
  prepare?: () => Promise<unknown>;
}
const extras = new Map<string, BackendLoaderOptions>([
  // The loader's message starts by saying the backend is unavailable; the reason is what follows.
  ["native", { whyNot: () => nativeLoadError()?.replace(/^qkv native backend unavailable: /, "") ?? null }],
  // On a browser main thread the module must compile asynchronously first (initWasm); elsewhere the
  // synchronous loader compiles it itself.
  ["wasm", { whyNot: wasmLoadError, prepare: () => initWasm() }],
]);

/**
 * The automatic order: fastest first. Names not registered are skipped (the wasm backend registers
 * itself in builds that have it).
 */
export const AUTO_BACKEND_ORDER: readonly string[] = ["native", "wasm", "cpu"];

/** How the current backend was chosen. */
export type BackendChoice = "auto" | "QKV_BACKEND" | "setBackend";

/**
 * What runs and why: the backend in use, how it was chosen, and each faster backend of the
 * automatic order that did not load, with the reason.
 * @example
 * backendInfo(); // { name: "cpu", chosenBy: "auto", skipped: [{ name: "native", reason: "not running on Node.js" }, …] }
 */
export interface BackendInfo {
  name: string;
  chosenBy: BackendChoice;
  skipped: { name: string; reason: string }[];
}

/** null until `setBackend` runs or the first kernel call consults QKV_BACKEND. */
let current: Backend | null = null;
let chosenBy: BackendChoice = "auto";
let skipped: { name: string; reason: string }[] = [];

/** Loads `name`, or returns why it cannot run here. */
function tryLoad(name: string): Backend | string {
  const load = registry.get(name);
  if (!load) return "not part of this build";
  try {
    const b = load();
    if (b) return b;
    return extras.get(name)?.whyNot?.() ?? "not available here";
  } catch (e) {
    return (e as Error).message;
  }
}

/** The first backend of AUTO_BACKEND_ORDER that loads (cpu always does), noting the ones skipped. */
function autoSelect(): Backend {
  skipped = [];
  for (const name of AUTO_BACKEND_ORDER) {
    const r = tryLoad(name);
    if (typeof r !== "string") return r;
    skipped.push({ name, reason: r });
  }
  // cpu is registered at module load and never fails; reaching here means it was replaced.
  return cpuBackend;
}

function validNames(): string {
  return ["auto", ...listBackends()].join(", ");
}

/**
 * The backend chosen by QKV_BACKEND: a registered name, or auto (also when unset or empty). A named
 * backend that cannot load is said once, on the console, and the automatic choice is used.
 */
function fromEnvironment(): Backend {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const wanted = env?.QKV_BACKEND;
  if (wanted === undefined || wanted === "" || wanted === "auto") return select(autoSelect(), "auto");
  if (!registry.has(wanted))
    throw new QkvError(`QKV_BACKEND must be one of ${validNames()}; got "${wanted}"`, {
      field: "QKV_BACKEND",
    });
  const r = tryLoad(wanted);
  if (typeof r !== "string") {
    skipped = [];
    return select(r, "QKV_BACKEND");
  }
  const fallback = autoSelect();
  console.warn(
    `qkv: QKV_BACKEND=${wanted} but the ${wanted} backend is unavailable (${r}); using ${fallback.name}`,
  );
  return select(fallback, "auto");
}

function select(b: Backend, how: BackendChoice): Backend {
  current = b;
  chosenBy = how;
  return b;
}

/**
 * The backend the ops currently dispatch to. The first call without a prior `setBackend` picks it:
 * QKV_BACKEND when set, else the first of native, wasm, cpu that loads.
 * @example
 * backend().name; // "native" in Node with the addon built, "cpu" in a page before `await ready()`
 */
export function backend(): Backend {
  return current ?? fromEnvironment();
}

/**
 * Makes another backend loadable by name (`setBackend(name)`, QKV_BACKEND=name), e.g. a WebAssembly
 * build. The loader returns null (or throws, saying why) when the backend cannot run here.
 * @example
 * registerBackend("mine", () => myBackend);
 */
export function registerBackend(name: string, load: () => Backend | null, opts?: BackendLoaderOptions): void {
  if (name === "auto") throw new QkvError('registerBackend: "auto" is reserved for the automatic choice');
  registry.set(name, load);
  if (opts) extras.set(name, opts);
  else extras.delete(name);
}

/**
 * Names of registered backends (whether or not they can load here).
 * @example
 * listBackends(); // ["cpu", "native", "wasm"]
 */
export function listBackends(): string[] {
  return [...registry.keys()];
}

/**
 * Selects the backend by name or object; an explicit choice overrides QKV_BACKEND. `"auto"` makes
 * the automatic choice again (native → wasm → cpu). Throws, saying why, when a named backend cannot
 * load here.
 * @example
 * setBackend("cpu");
 */
export function setBackend(b: string | Backend): Backend {
  if (typeof b !== "string") {
    skipped = [];
    return select(b, "setBackend");
  }
  if (b === "auto") return select(autoSelect(), "auto");
  if (!registry.has(b)) throw new QkvError(`setBackend: unknown backend "${b}"; valid: ${validNames()}`);
  const r = tryLoad(b);
  if (typeof r === "string") throw new QkvError(`setBackend: the ${b} backend is not available here: ${r}`);
  skipped = [];
  return select(r, "setBackend");
}

/**
 * Name of the current backend (selecting the default first, as `backend()` does).
 * @example
 * getBackendName(); // "native", "wasm" or "cpu"
 */
export function getBackendName(): string {
  return backend().name;
}

/**
 * The current backend (selecting the default first), how it was chosen, and why faster ones did not
 * load.
 * @example
 * const { name, skipped } = backendInfo();
 * for (const s of skipped) console.log(`${s.name}: ${s.reason}`);
 */
export function backendInfo(): BackendInfo {
  const b = backend();
  return { name: b.name, chosenBy, skipped: skipped.map((s) => ({ ...s })) };
}

/**
 * Loads the best backend, asynchronously where a backend needs it, and returns its name. On a
 * browser main thread the WebAssembly module can only be compiled asynchronously, so until
 * `await ready()` the automatic choice there is the plain-JavaScript `cpu` backend (correct, but far
 * slower); `ready()` then switches to wasm. In Node the synchronous choice already finds native or
 * wasm, and `ready()` changes nothing. An explicit choice (`setBackend(name)`, QKV_BACKEND) is
 * kept; after `setBackend("auto")` or with no choice, the automatic order applies.
 * @example
 * import { ready, GPT } from "qkv";
 * await ready(); // "wasm" in a page, "native" in Node with the addon built
 */
export async function ready(): Promise<string> {
  if (current !== null && chosenBy !== "auto") return current.name;
  for (const name of AUTO_BACKEND_ORDER) {
    if (typeof tryLoad(name) !== "string") break;
    const prepare = extras.get(name)?.prepare;
    if (!prepare) continue;
    try {
      await prepare();
    } catch {
      // The reason surfaces through the synchronous loader below (backendInfo().skipped).
    }
    if (typeof tryLoad(name) !== "string") break;
  }
  if (current === null) return fromEnvironment().name;
  return select(autoSelect(), "auto").name;
}
