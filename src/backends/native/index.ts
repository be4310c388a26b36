/**
 * The native CPU backend: C++ kernels (packed AVX-512 / AVX2 GEMM, fused row and attention kernels,
 * vectorised element-wise maps) behind the same `Backend` contract as the reference `cpu` backend.
 * Kernels run directly on the caller's typed arrays (zero copy) on a persistent thread pool.
 *
 * Problems too small to repay a Node-API call (about 0.1 µs plus 0.05 µs per array) and the few
 * kernels with no native version are delegated, explicitly, to the reference backend.
 *
 * @example
 * import { loadNativeBackend, nativeLoadError } from "./backends/native/index.js";
 * const be = loadNativeBackend(); // null when the addon is not built, see nativeLoadError()
 */
import type { Backend } from "../../backend/backend.js";
import { type AddonThresholds, createAddonBackend } from "./addon-backend.js";
import { addonLoadError, loadAddon, meta, type NativeAddon } from "./binding.js";

/**
 * Below these sizes the reference JS loops beat the cost of crossing into C++ (about 0.1 µs per call
 * plus 0.05 µs per typed array). Measured on x86-64 / Node 20 by comparing both backends per kernel;
 * mutable so tests can force the native path (set them to 0).
 */
export const nativeThresholds: AddonThresholds = {
  /** batch·M·N·K of a matrix product */
  gemm: 256,
  /** elements of a cheap element-wise map (neg, abs, relu, add, …) or comparison */
  elementwise: 64,
  /** elements of an element-wise map built on exp/log/erf/sin */
  transcendental: 16,
  /** elements of a strided copy */
  copy: 32,
  /** rows·n of a row kernel (softmax, layer norm, cross-entropy) */
  rows: 64,
  /** elements reduced */
  reduce: 128,
  /** elements moved by an indexing kernel */
  indexing: 64,
  /** parameters updated by an optimizer step */
  optimizer: 64,
  /** B·H·T·S·(D+Dv) of attention */
  attention: 64,
};

let A: NativeAddon | null = null;

function addon(): NativeAddon {
  if (A) return A;
  A = loadAddon();
  if (!A) throw new Error(addonLoadError() ?? "qkv native backend unavailable");
  return A;
}

export const nativeBackend = createAddonBackend({
  name: "native",
  addon,
  meta,
  thresholds: nativeThresholds,
});

/**
 * The native backend if its addon loads on this machine, else null (the reason is kept in
 * {@link nativeLoadError}). Never throws.
 */
export function loadNativeBackend(): Backend | null {
  A = loadAddon();
  return A ? nativeBackend : null;
}

/** Why the native backend is unavailable, or null when it loaded (or was not tried yet). */
export function nativeLoadError(): string | null {
  return addonLoadError();
}

/**
 * Sets the number of threads native kernels may use (clamped to [1, hardware cores]); returns the
 * value in effect. The initial value is the number of cores, or QKV_NUM_THREADS when set.
 */
export function setNumThreads(n: number): number {
  return addon().setNumThreads(Math.max(1, Math.floor(n)));
}

/** Threads the native kernels currently use. */
export function getNumThreads(): number {
  return addon().info().threads;
}

/** Instruction set in use and thread counts, or null when the addon is unavailable. */
export function nativeInfo(): { isa: string; threads: number; hwThreads: number } | null {
  const a = loadAddon();
  return a ? a.info() : null;
}

/**
 * Selects the kernel variant ("avx512", "avx2" or "generic"; "" = best supported); returns the
 * variant in effect, or null if this CPU cannot run the requested one. For tests and benchmarks.
 */
export function setNativeIsa(name: string): string | null {
  return addon().setIsa(name);
}
