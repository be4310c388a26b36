/**
 * Loader of the native addon (build/Release/qkv_native.node). It never imports `node:` modules
 * statically, so bundling the library for a browser keeps working: on Node ≥ 20.16 the loader reaches
 * `require` through `process.getBuiltinModule("module")`, anywhere else it reports why it cannot load.
 */
import { OP_TABLES, type OpFamily } from "../../backend/op-table.js";

/** Functions exported by the C++ addon (their numeric arguments: meta-layout.ts). */
export interface NativeAddon {
  setMeta(meta: Float64Array): void;
  info(): { isa: string; threads: number; hwThreads: number };
  /** The op names of each family in code order, as compiled in from the generated native/gen/qkv_ops.h. */
  opTable(): Record<OpFamily, string[]>;
  setNumThreads(n: number): number;
  setIsa(name: string): string | null;
  noop(...arrays: ArrayBufferView[]): void;
  gemm(
    a: ArrayBufferView,
    b: ArrayBufferView,
    out: ArrayBufferView,
    bias?: ArrayBufferView,
    preact?: ArrayBufferView,
  ): void;
  unary(x: ArrayBufferView, out: ArrayBufferView): boolean;
  unaryBackward(x: ArrayBufferView, y: ArrayBufferView, gy: ArrayBufferView, gx: ArrayBufferView): boolean;
  binary(a: ArrayBufferView, b: ArrayBufferView, out: ArrayBufferView): boolean;
  compare(a: ArrayBufferView, b: ArrayBufferView, out: ArrayBufferView): boolean;
  where(cond: ArrayBufferView, a: ArrayBufferView, b: ArrayBufferView, out: ArrayBufferView): boolean;
  copy(src: ArrayBufferView, dst: ArrayBufferView): boolean;
  clamp(x: ArrayBufferView, out: ArrayBufferView): boolean;
  reduce(x: ArrayBufferView, out: ArrayBufferView): boolean;
  softmax(x: ArrayBufferView, out: ArrayBufferView): boolean;
  softmaxBackward(y: ArrayBufferView, gy: ArrayBufferView, gx: ArrayBufferView): boolean;
  layerNormForward(
    x: ArrayBufferView,
    out: ArrayBufferView,
    mean: ArrayBufferView,
    rstd: ArrayBufferView,
    weight?: ArrayBufferView,
    bias?: ArrayBufferView,
  ): boolean;
  layerNormBackward(
    x: ArrayBufferView,
    mean: ArrayBufferView,
    rstd: ArrayBufferView,
    gy: ArrayBufferView,
    gx: ArrayBufferView,
    weight?: ArrayBufferView,
    gw?: ArrayBufferView,
    gb?: ArrayBufferView,
  ): boolean;
  crossEntropyForward(
    logits: ArrayBufferView,
    target: ArrayBufferView,
    loss: ArrayBufferView,
    lse: ArrayBufferView,
  ): boolean;
  crossEntropyBackward(
    logits: ArrayBufferView,
    target: ArrayBufferView,
    lse: ArrayBufferView,
    gLoss: ArrayBufferView,
    gLogits: ArrayBufferView,
  ): boolean;
  indexSelect(x: ArrayBufferView, index: ArrayBufferView, out: ArrayBufferView): boolean;
  indexAdd(gy: ArrayBufferView, index: ArrayBufferView, gx: ArrayBufferView): boolean;
  gather(x: ArrayBufferView, index: ArrayBufferView, out: ArrayBufferView): boolean;
  scatterAdd(gy: ArrayBufferView, index: ArrayBufferView, gx: ArrayBufferView): boolean;
  attentionForward(...arrays: ArrayBufferView[]): boolean;
  attentionBackward(...arrays: ArrayBufferView[]): boolean;
  /** The 30 operands of one transformer layer in the order of layer::Slot (see addon.cc); null = absent. */
  transformerLayer(...arrays: (ArrayBufferView | null)[]): boolean;
  /** out = x · dequant(w)ᵀ + bias; w Int8Array with Float32Array scales, or Uint16Array (bfloat16) with null. */
  quantizedLinear(
    x: Float32Array,
    w: Int8Array | Uint16Array,
    scales: Float32Array | null,
    bias: Float32Array | null,
    out: Float32Array,
  ): boolean;
  adamStepMulti(
    ps: ArrayBufferView[],
    gs: ArrayBufferView[],
    ms: ArrayBufferView[],
    vs: ArrayBufferView[],
    vmaxs?: ArrayBufferView[],
  ): boolean;
  sumOfSquares(xs: ArrayBufferView[], out: Float64Array): boolean;
  scaleInPlace(xs: ArrayBufferView[]): boolean;
  /**
   * Bytes [offset, offset + length) of the open file `fd` (offset page-aligned) as an external,
   * copy-on-write (MAP_PRIVATE) mapping, or null where it cannot be mapped. Absent on Windows and
   * in the wasm build (callers then read the file).
   */
  mapFile?(fd: number, offset: number, length: number): ArrayBuffer | null;
}

/**
 * Numeric arguments travel through this buffer (registered once with the addon) instead of as
 * individual JS numbers, which keeps the per-call overhead to the typed-array arguments.
 */
export const meta = new Float64Array(new ArrayBuffer(256 * 8));

let addon: NativeAddon | null = null;
let loadError: string | null = null;
let tried = false;

interface NodeLikeProcess {
  env?: Record<string, string | undefined>;
  getBuiltinModule?: (id: string) => unknown;
  versions?: { node?: string };
}

function tryLoad(): NativeAddon | null {
  const proc = (globalThis as { process?: NodeLikeProcess }).process;
  if (!proc?.versions?.node) throw new Error("not running on Node.js");
  if (proc.env?.QKV_NATIVE === "0") throw new Error("disabled by QKV_NATIVE=0");
  const getBuiltin = proc.getBuiltinModule;
  if (typeof getBuiltin !== "function") {
    throw new Error(`Node.js ${proc.versions.node} lacks process.getBuiltinModule (needs ≥ 20.16)`);
  }
  const mod = getBuiltin("module") as { createRequire(from: string): (id: string) => unknown } | undefined;
  if (!mod?.createRequire) throw new Error("node:module is unavailable");
  const url = getBuiltin("url") as { fileURLToPath(u: string): string } | undefined;
  const path = getBuiltin("path") as { dirname(p: string): string; join(...p: string[]): string } | undefined;
  if (!url?.fileURLToPath || !path?.join) throw new Error("node:url / node:path are unavailable");
  const req = mod.createRequire(import.meta.url);
  // The package root is 3 levels above src/backends/native and 4 above dist/src/backends/native.
  const here = path.dirname(url.fileURLToPath(import.meta.url));
  const candidates: string[] = [];
  if (proc.env?.QKV_NATIVE_PATH) candidates.push(proc.env.QKV_NATIVE_PATH);
  for (const up of ["../../..", "../../../.."])
    candidates.push(path.join(here, up, "build", "Release", "qkv_native.node"));
  const errors: string[] = [];
  for (const file of candidates) {
    try {
      const a = req(file) as NativeAddon;
      checkOpTable(a, file);
      a.setMeta(meta);
      return a;
    } catch (e) {
      if (e instanceof StaleAddonError) throw e;
      const msg = e instanceof Error ? e.message : String(e);
      // A missing file is expected for one of the candidates; anything else is the real reason.
      if (!/Cannot find module|no such file|ENOENT/i.test(msg)) errors.push(msg.split("\n")[0]);
    }
  }
  throw new Error(
    errors[0] ?? "build/Release/qkv_native.node not found (build it with `node scripts/build-native.mjs`)",
  );
}

/** Why an addon's op codes differ from this build's op tables, or null when they agree. */
export function opTableMismatch(compiled: Partial<Record<OpFamily, readonly string[]>>): string | null {
  for (const family of Object.keys(OP_TABLES) as OpFamily[]) {
    const want = OP_TABLES[family].map((r) => r.name);
    const got = compiled[family] ?? [];
    if (want.length !== got.length || want.some((n, i) => got[i] !== n))
      return `${family} ops [${got.join(", ")}] but src/backend/op-table.ts has [${want.join(", ")}]`;
  }
  return null;
}

class StaleAddonError extends Error {}

function checkOpTable(a: NativeAddon, file: string): void {
  const why =
    typeof a.opTable === "function" ? opTableMismatch(a.opTable()) : "no op table (built before it had one)";
  if (why)
    throw new StaleAddonError(
      `stale build ${file}: ${why}; rebuild it with \`node scripts/build-native.mjs\``,
    );
}

/** The loaded addon, or null when it cannot be used here (see {@link addonLoadError}). Never throws. */
export function loadAddon(): NativeAddon | null {
  if (tried) return addon;
  tried = true;
  try {
    addon = tryLoad();
  } catch (e) {
    addon = null;
    loadError = `qkv native backend unavailable: ${e instanceof Error ? e.message : String(e)}`;
  }
  return addon;
}

/** Why the addon could not be loaded, or null if it loaded (or was not tried yet). */
export function addonLoadError(): string | null {
  return loadError;
}
